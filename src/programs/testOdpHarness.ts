/**
 * The helpers rdma-core's tests/test_odp.py leans on (tests/utils.py: traffic,
 * rdma_traffic, atomic traffic; tests/base.py: the server / client resources), written
 * against odpsim's verbs so the test_odp cases can be ported one for one.
 *
 * Models no kernel file. As in the original, "force page faults" means
 * madvise(MADV_DONTNEED) on both buffers before every iteration, and every iteration
 * verifies the data that arrived. Both sides are driven from one thread, as pyverbs
 * tests drive both sides from one Python process; each side still lives in its own
 * process on its own host.
 */
import { cpuRead, cpuWrite } from "../mm/access.ts";
import { MADV_DONTNEED, doMadvise } from "../mm/madvise.ts";
import type { Process } from "../mm/process.ts";
import type { KGen } from "../sim/task.ts";
import { ibvWaitCompletions, type IbWc } from "../rdma/core/ibCq.ts";
import { IB_SEND_SIGNALED, ibvPostRecv, ibvPostSend, type IbQpType } from "../rdma/core/ibQp.ts";
import {
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IB_ACCESS_REMOTE_ATOMIC,
  IB_ACCESS_REMOTE_READ,
  IB_ACCESS_REMOTE_WRITE,
} from "../rdma/core/ibVerbs.ts";
import type { RdmaHost } from "../rdma/wire/rdmaHost.ts";
import { GRH_BYTES } from "../rdma/mlx5/qp/responder.ts";
import {
  connectRc,
  connectUd,
  openSide,
  sideAddress,
  VerbsError,
  type Side,
} from "./verbsResources.ts";
import { createWorld, runWorld, type World, type WorldOptions } from "./world.ts";

export const QKEY = 0x11111111;
export const REMOTE_ACCESS =
  IB_ACCESS_REMOTE_WRITE | IB_ACCESS_REMOTE_READ | IB_ACCESS_REMOTE_ATOMIC;

export interface PairOptions extends WorldOptions {
  readonly qpType?: IbQpType;
  readonly size?: number;
  readonly serverAccess: number;
  readonly clientAccess: number;
  readonly implicit?: boolean;
  readonly hugetlb?: boolean;
}

/** A test failure inside the simulation (an assertion of the ported test). */
export class OdpTestFailure extends Error {}

export function check(cond: boolean, what: string): void {
  if (!cond) throw new OdpTestFailure(what);
}

function must<T>(v: T | VerbsError): T {
  if (v instanceof VerbsError) throw new OdpTestFailure(v.toString());
  return v;
}

/** Builds server and client, connects them, runs `body`, and runs the world to the end. */
export function runPair(
  o: PairOptions,
  body: (server: Side, client: Side, w: World) => KGen,
): World {
  const w = createWorld(o);
  const [sh, ch] = w.hosts as [RdmaHost, RdmaHost];
  const sproc = sh.spawnProcess();
  const cproc = ch.spawnProcess();
  cproc.spawnThread("test_odp", () => testOdp(o, w, sproc, cproc, body));
  runWorld(w);
  return w;
}

/** The client thread of runPair: open both sides, connect them, run the test body. */
function* testOdp(
  o: PairOptions,
  w: World,
  sproc: Process,
  cproc: Process,
  body: (server: Side, client: Side, w: World) => KGen,
): KGen {
  const [sh, ch] = w.hosts as [RdmaHost, RdmaHost];
  const qpType = o.qpType ?? "RC";
  const size = o.size ?? 1024;
  const common = {
    qpType,
    size,
    ...(o.implicit === true ? { implicit: true } : {}),
    ...(o.hugetlb === true ? { hugetlb: true } : {}),
  };
  const server = must(yield* openSide(sh, sproc, { ...common, mrAccess: o.serverAccess }));
  const client = must(yield* openSide(ch, cproc, { ...common, mrAccess: o.clientAccess }));
  if (qpType === "RC") {
    check((yield* connectRc(server, sideAddress(client), REMOTE_ACCESS)) === 0, "connect");
    check((yield* connectRc(client, sideAddress(server), REMOTE_ACCESS)) === 0, "connect");
  } else {
    check((yield* connectUd(server, QKEY)) === 0, "connect");
    check((yield* connectUd(client, QKEY)) === 0, "connect");
  }
  yield* body(server, client, w);
}

/**
 * MADV_DONTNEED the ODP buffers: the next device access to them faults. A pinned MR's
 * buffer is left alone: discarding it would leave the device on the pinned pages and the
 * CPU on fresh ones (the original only discards the buffers of its ODP MRs).
 */
export function* forcePageFaults(...sides: Side[]): KGen {
  for (const s of sides.filter((x) => (x.mr.access & IB_ACCESS_ON_DEMAND) !== 0))
    check((yield* doMadvise(s.mm, s.buf, s.size, MADV_DONTNEED)) === 0, "madvise");
}

function* pollOne(side: Side, what: string): KGen<IbWc> {
  const [wc] = yield* ibvWaitCompletions(side.cq, 1, 10_000_000_000);
  check(wc !== undefined, `${what}: no completion`);
  const c = wc as IbWc;
  check(c.status === "SUCCESS", `${what}: completion status ${c.status}`);
  return c;
}

function* fill(side: Side, byte: number, len: number): KGen {
  check((yield* cpuWrite(side.mm, side.buf, new Uint8Array(len).fill(byte))).ok, "fill");
}

function* expectBytes(side: Side, off: number, len: number, byte: number, what: string): KGen {
  const r = yield* cpuRead(side.mm, side.buf + off, len);
  check(r.ok, `${what}: read back`);
  if (r.ok)
    check(
      r.data.every((b) => b === byte),
      `${what}: data mismatch`,
    );
}

/** utils.traffic: send/recv both ways `iters` times, faults forced, data verified. */
export function* traffic(server: Side, client: Side, iters: number, force = true): KGen {
  const ud = server.qp.qpType === "UD";
  const msg = Math.min(server.size, client.size) - (ud ? GRH_BYTES : 0);
  for (let i = 0; i < iters; i++) {
    if (force) yield* forcePageFaults(server, client);
    for (const [from, to] of [
      [client, server],
      [server, client],
    ] as const) {
      const c = 0x61 + ((i * 2 + (from === client ? 0 : 1)) % 26);
      const recvLen = msg + (ud ? GRH_BYTES : 0);
      ibvPostRecv(to.qp, {
        wrId: i,
        sgList: [{ addr: to.buf, length: recvLen, lkey: to.mr.lkey }],
      });
      yield* fill(from, c, msg);
      const ret = ibvPostSend(from.qp, {
        wrId: i,
        opcode: "SEND",
        sendFlags: IB_SEND_SIGNALED,
        sgList: [{ addr: from.buf, length: msg, lkey: from.mr.lkey }],
        ...(ud ? { ah: { dlid: to.host.lid }, remoteQpn: to.qp.qpNum, remoteQkey: QKEY } : {}),
      });
      check(ret === 0, "post_send");
      yield* pollOne(from, "send");
      const wc = yield* pollOne(to, "recv");
      check(wc.byteLen === recvLen, "recv byte_len");
      yield* expectBytes(to, ud ? GRH_BYTES : 0, msg, c, "traffic");
    }
  }
}

/** utils.rdma_traffic: client WRITEs into or READs from the server's MR. */
export function* rdmaTraffic(
  server: Side,
  client: Side,
  iters: number,
  op: "RDMA_WRITE" | "RDMA_READ",
): KGen {
  const len = Math.min(server.size, client.size);
  for (let i = 0; i < iters; i++) {
    yield* forcePageFaults(server, client);
    const c = 0x41 + (i % 26);
    yield* fill(op === "RDMA_WRITE" ? client : server, c, len);
    check(
      ibvPostSend(client.qp, {
        wrId: i,
        opcode: op,
        sendFlags: IB_SEND_SIGNALED,
        sgList: [{ addr: client.buf, length: len, lkey: client.mr.lkey }],
        remoteAddr: server.buf,
        rkey: server.mr.rkey,
      }) === 0,
      "post_send",
    );
    yield* pollOne(client, op);
    yield* expectBytes(op === "RDMA_WRITE" ? server : client, 0, len, c, op);
  }
}

function* read64(side: Side, off: number): KGen<bigint> {
  const r = yield* cpuRead(side.mm, side.buf + off, 8);
  check(r.ok, "read64");
  return r.ok ? new DataView(r.data.buffer).getBigUint64(0) : 0n;
}

function* write64(side: Side, off: number, v: bigint): KGen {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v);
  check((yield* cpuWrite(side.mm, side.buf + off, b)).ok, "write64");
}

/** One atomic on the server's first 8 bytes; returns the value the client got back. */
export function* atomicOnce(
  server: Side,
  client: Side,
  op: "ATOMIC_CMP_AND_SWP" | "ATOMIC_FETCH_AND_ADD",
  compareAdd: bigint,
  swap = 0n,
): KGen<bigint> {
  check(
    ibvPostSend(client.qp, {
      wrId: 1,
      opcode: op,
      sendFlags: IB_SEND_SIGNALED,
      sgList: [{ addr: client.buf, length: 8, lkey: client.mr.lkey }],
      remoteAddr: server.buf,
      rkey: server.mr.rkey,
      compareAdd,
      swap,
    }) === 0,
    "post_send",
  );
  yield* pollOne(client, op);
  return yield* read64(client, 0);
}

export { read64, write64 };

export const LOCAL_WRITE = IB_ACCESS_LOCAL_WRITE;
