/**
 * ibv_rc_pingpong: two processes on two hosts bounce a message back and forth over an
 * RC QP, and report how long the round trips took.
 *
 * Models rdma-core's libibverbs/examples/rc_pingpong.c: the buffer is page aligned and
 * memset to 0x7b, registered (-o: with IBV_ACCESS_ON_DEMAND after checking that the
 * device's RC ODP caps include SEND and RECV; -O: the implicit MR over the whole address
 * space, after checking IBV_ODP_SUPPORT_IMPLICIT), optionally prefetched (-P:
 * PREFETCH_WRITE with the FLUSH flag over the buffer; a failure only warns); the server
 * pre-posts rx_depth receives, the client sends first, and each side sends its next
 * message once its previous send and a receive have completed. The TCP exchange of
 * LID / QPN / PSN is an in-process channel. Time is virtual, from the cost model.
 *
 * odpsim additions: `forceFaults` discards the buffer with MADV_DONTNEED before each
 * send (as test_odp.py does), so ODP traffic faults on every iteration; the report
 * counts the page faults the devices' QPs raised.
 */
import { cpuWrite } from "../mm/access.ts";
import { MADV_DONTNEED, doMadvise } from "../mm/madvise.ts";
import type { KGen } from "../sim/task.ts";
import { errnoName } from "../sim/errno.ts";
import { ibvWaitCompletions } from "../rdma/core/ibCq.ts";
import {
  IB_SEND_SIGNALED,
  ibvDestroyQp,
  ibvPostRecv,
  ibvPostSend,
  type IbSendWr,
} from "../rdma/core/ibQp.ts";
import {
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IB_ODP_SUPPORT,
  IB_ODP_SUPPORT_IMPLICIT,
  IB_ODP_SUPPORT_RECV,
  IB_ODP_SUPPORT_SEND,
  IB_UVERBS_ADVISE_MR_FLAG_FLUSH,
} from "../rdma/core/ibVerbs.ts";
import { ibvAdviseMr, ibvDeregMr } from "../rdma/core/verbs.ts";
import type { RdmaHost } from "../rdma/wire/rdmaHost.ts";
import { OobChannel } from "./oob.ts";
import {
  connectRc,
  initQp,
  openSide,
  sideAddress,
  VerbsError,
  type Side,
  type SideAddress,
} from "./verbsResources.ts";
import { createWorld, totalPageFaults, type WorldOptions } from "./world.ts";

export interface PingpongOptions extends WorldOptions {
  /** -s: message size (default 4096). */
  readonly size?: number;
  /** -n: iterations (default 1000). */
  readonly iters?: number;
  /** -r: receives to post (default 500). */
  readonly rxDepth?: number;
  /** -o: ODP MR. */
  readonly odp?: boolean;
  /** -O: implicit ODP MR. */
  readonly implicitOdp?: boolean;
  /** -P: prefetch the buffer (PREFETCH_WRITE | FLUSH) before traffic. */
  readonly prefetch?: boolean;
  /** MADV_DONTNEED the buffer before every send. */
  readonly forceFaults?: boolean;
}

export interface PingpongReport {
  /** Both sides completed every iteration. */
  readonly ok: boolean;
  /** What failed, as rc_pingpong prints it (with the errno), when not ok. */
  readonly error: string | null;
  readonly iterations: number;
  readonly bytes: number;
  readonly pageFaults: number;
  /** Virtual time of the traffic phase (client side), ns. */
  readonly virtualNs: number;
  readonly usecPerIter: number;
  readonly warnings: readonly string[];
  /** The lines the program prints. */
  readonly output: readonly string[];
}

interface SideResult {
  error: string | null;
  iters: number;
  startNs: number;
  endNs: number;
}

const RECV_WRID = 1;
const SEND_WRID = 2;

/** Runs server and client to the end and reports. */
export function rcPingpong(o: PingpongOptions = {}): PingpongReport {
  const w = createWorld(o);
  const [serverHost, clientHost] = w.hosts as [RdmaHost, RdmaHost];
  const oob = new OobChannel<SideAddress>(w.k, "pingpong");
  const warnings: string[] = [];
  const results: SideResult[] = [];
  for (const [host, role] of [
    [serverHost, "server"],
    [clientHost, "client"],
  ] as const) {
    const result: SideResult = { error: null, iters: 0, startNs: 0, endNs: 0 };
    results.push(result);
    const proc = host.spawnProcess();
    proc.spawnThread(`rc_pingpong(${role})`, () =>
      pingpongSide(host, proc, role, o, oob, warnings, result),
    );
  }
  const r = w.k.run();
  const iters = o.iters ?? 1000;
  const size = o.size ?? 4096;
  const client = results[1] as SideResult;
  let error = results.find((s) => s.error !== null)?.error ?? null;
  if (r.status !== "ok") {
    error ??= `run ended ${r.status}: ${r.internalError?.message ?? r.violations[0]?.message ?? ""}`;
  }
  const ok = error === null && results.every((s) => s.iters === iters);
  const virtualNs = client.endNs - client.startNs;
  const bytes = size * iters * 2;
  const usecPerIter = iters === 0 ? 0 : virtualNs / 1000 / iters;
  const output = ok
    ? [
        `${bytes} bytes in ${(virtualNs / 1e9).toFixed(6)} seconds = ${((bytes * 8) / (virtualNs / 1e3)).toFixed(2)} Mbit/sec`,
        `${iters} iters in ${(virtualNs / 1e9).toFixed(6)} seconds = ${usecPerIter.toFixed(2)} usec/iter`,
        `${totalPageFaults(w)} page faults`,
      ]
    : [String(error)];
  return {
    ok,
    error,
    iterations: client.iters,
    bytes: ok ? bytes : 0,
    pageFaults: totalPageFaults(w),
    virtualNs,
    usecPerIter,
    warnings,
    output: [...warnings, ...output],
  };
}

function* pingpongSide(
  host: RdmaHost,
  proc: ReturnType<RdmaHost["spawnProcess"]>,
  role: "server" | "client",
  o: PingpongOptions,
  oob: OobChannel<SideAddress>,
  warnings: string[],
  result: SideResult,
): KGen {
  const k = host.k;
  const size = o.size ?? 4096;
  const iters = o.iters ?? 1000;
  const rxDepth = o.rxDepth ?? 500;
  const odp = o.odp === true || o.implicitOdp === true;
  // pp_init_ctx checks the ODP caps (ibv_query_device_ex) before registering.
  const capsError = checkOdpCaps(host, o);
  if (capsError !== null) {
    result.error = capsError;
    return;
  }
  const side = yield* openSide(host, proc, {
    qpType: "RC",
    size,
    mrAccess: IB_ACCESS_LOCAL_WRITE | (odp ? IB_ACCESS_ON_DEMAND : 0),
    implicit: o.implicitOdp === true,
    maxRecvWr: rxDepth,
  });
  if (side instanceof VerbsError) {
    result.error =
      side.what === "ibv_reg_mr" ? `Couldn't register MR (${errnoName(side.errno)})` : String(side);
    return;
  }
  if (!(yield* cpuWrite(side.mm, side.buf, new Uint8Array(size).fill(0x7b))).ok) {
    result.error = "buffer write faulted";
    return;
  }
  if (o.prefetch === true) {
    const sge = { addr: side.buf, length: size, lkey: side.mr.lkey };
    const ret = yield* ibvAdviseMr(side.pd, "PREFETCH_WRITE", IB_UVERBS_ADVISE_MR_FLAG_FLUSH, [
      sge,
    ]);
    if (ret < 0) warnings.push(`Couldn't prefetch MR(${errnoName(ret)}). Continue anyway`);
  }
  const recvWr = {
    wrId: RECV_WRID,
    sgList: [{ addr: side.buf, length: size, lkey: side.mr.lkey }],
  };
  const init = yield* initQp(side, 0);
  if (init < 0) {
    result.error = `Failed to modify QP to INIT (${errnoName(init)})`;
    return;
  }
  let routs = 0;
  for (let i = 0; i < rxDepth; i++) if (ibvPostRecv(side.qp, recvWr) === 0) routs++;
  oob.put(role, sideAddress(side));
  const remote = yield* oob.get(role === "server" ? "client" : "server");
  const ret = yield* connectRc(side, remote, 0);
  if (ret < 0) {
    result.error = `Couldn't connect to remote QP (${errnoName(ret)})`;
    return;
  }
  // Both sides are connected before the first send (rc_pingpong's TCP handshake).
  oob.put(`${role}-ready`, sideAddress(side));
  yield* oob.get(role === "server" ? "client-ready" : "server-ready");
  result.startNs = k.clock.now();
  const sendWr = {
    wrId: SEND_WRID,
    opcode: "SEND" as const,
    sendFlags: IB_SEND_SIGNALED,
    sgList: [{ addr: side.buf, length: size, lkey: side.mr.lkey }],
  };
  const post = (): KGen<number> => postSend(side, sendWr, o.forceFaults === true);
  let pending = RECV_WRID;
  let scnt = 0;
  let rcnt = 0;
  if (role === "client") {
    if ((yield* post()) < 0) {
      result.error = "Couldn't post send";
      return;
    }
    pending |= SEND_WRID;
  }
  while (rcnt < iters || scnt < iters) {
    const [wc] = yield* ibvWaitCompletions(side.cq, 1);
    if (wc === undefined) break;
    if (wc.status !== "SUCCESS") {
      result.error = `Failed status ${wc.status} for wr_id ${wc.wrId}`;
      return;
    }
    if (wc.wrId === SEND_WRID) scnt++;
    else {
      if (--routs <= 1) {
        for (let i = routs; i < rxDepth; i++) if (ibvPostRecv(side.qp, recvWr) === 0) routs++;
      }
      rcnt++;
    }
    pending &= ~wc.wrId;
    if (scnt < iters && pending === 0) {
      if ((yield* post()) < 0) {
        result.error = "Couldn't post send";
        return;
      }
      pending = RECV_WRID | SEND_WRID;
    }
  }
  result.endNs = k.clock.now();
  result.iters = Math.min(scnt, rcnt);
  yield* teardown(side);
}

/** rc_pingpong's ODP checks, from ibv_query_device_ex. */
function checkOdpCaps(host: RdmaHost, o: PingpongOptions): string | null {
  if (o.odp !== true && o.implicitOdp !== true) return null;
  const caps = host.dev.driver.queryDevice().odpCaps;
  const rcNeeded = IB_ODP_SUPPORT_SEND | IB_ODP_SUPPORT_RECV;
  if (
    (caps.generalCaps & IB_ODP_SUPPORT) === 0 ||
    (caps.perTransportCaps.rcOdpCaps & rcNeeded) !== rcNeeded
  ) {
    return "The device isn't ODP capable or does not support RC send and receive with ODP";
  }
  if (o.implicitOdp === true && (caps.generalCaps & IB_ODP_SUPPORT_IMPLICIT) === 0) {
    return "The device doesn't support implicit ODP";
  }
  return null;
}

function* teardown(side: Side): KGen {
  yield* ibvDestroyQp(side.qp);
  yield* ibvDeregMr(side.mr);
}

/** Posts the next send; with forced faults, first drops the buffer's pages. */
function* postSend(side: Side, wr: IbSendWr, forceFaults: boolean): KGen<number> {
  if (forceFaults) yield* doMadvise(side.mm, side.buf, side.size, MADV_DONTNEED);
  return ibvPostSend(side.qp, wr);
}
