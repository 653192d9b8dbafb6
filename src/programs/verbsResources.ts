/**
 * The verbs resources a test program sets up on one side of a connection: an opened
 * device, a PD, a CQ, a QP and an MR over a fresh buffer; and the connection of two
 * such sides (RC: INIT → RTR → RTS with each other's LID and QP number; UD: to RTS).
 *
 * Models no kernel file: it is the user-space part pyverbs' BaseResources /
 * RCResources / UDResources and rc_pingpong's pp_init_ctx / pp_connect_ctx do, written
 * against odpsim's verbs.
 */
import type { KGen } from "../sim/task.ts";
import { errnoName } from "../sim/errno.ts";
import {
  MAP_ANONYMOUS,
  MAP_HUGETLB,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
} from "../mm/mmap.ts";
import type { MmStruct } from "../mm/mmStruct.ts";
import { HPAGE_PMD_SIZE, PAGE_SIZE } from "../mm/page.ts";
import type { Process } from "../mm/process.ts";
import { ibvCreateCq, type IbCq } from "../rdma/core/ibCq.ts";
import type { IbMr } from "../rdma/core/ibMr.ts";
import type { IbPd } from "../rdma/core/ibPd.ts";
import { ibvCreateQp, ibvModifyQp, type IbQp, type IbQpType } from "../rdma/core/ibQp.ts";
import { IMPLICIT_ODP_LENGTH } from "../rdma/core/ibVerbs.ts";
import type { IbUcontext } from "../rdma/core/ucontext.ts";
import { ibvAllocPd, ibvOpenDevice, ibvRegMr } from "../rdma/core/verbs.ts";
import type { RdmaHost } from "../rdma/wire/rdmaHost.ts";

export interface SideOptions {
  readonly qpType: IbQpType;
  /** Buffer bytes (rounded up to pages, or to huge pages with `hugetlb`). */
  readonly size: number;
  /** reg_mr access flags (IB_ACCESS_ON_DEMAND included for an ODP MR). */
  readonly mrAccess: number;
  /** Register the whole address space (addr 0, SIZE_MAX) instead of the buffer. */
  readonly implicit?: boolean;
  /** Back the buffer with MAP_HUGETLB. */
  readonly hugetlb?: boolean;
  readonly maxRecvWr?: number;
}

export interface Side {
  readonly host: RdmaHost;
  readonly proc: Process;
  readonly mm: MmStruct;
  readonly ctx: IbUcontext;
  readonly pd: IbPd;
  readonly cq: IbCq;
  readonly qp: IbQp;
  readonly buf: number;
  readonly size: number;
  readonly mr: IbMr;
}

/** What failed and with which errno, as the program would print it. */
export class VerbsError {
  constructor(
    readonly what: string,
    readonly errno: number,
  ) {}

  toString(): string {
    return `${this.what} failed: ${errnoName(this.errno)}`;
  }
}

/** Opens everything for one side, in the calling thread of `proc`. */
export function* openSide(host: RdmaHost, proc: Process, o: SideOptions): KGen<Side | VerbsError> {
  const mm = proc.mm;
  if (mm === null) throw new Error("process has no mm");
  const ctx = yield* ibvOpenDevice(host.dev, mm, proc.pid);
  if (typeof ctx === "number") return new VerbsError("ibv_open_device", ctx);
  const pd = ibvAllocPd(ctx);
  if (typeof pd === "number") return new VerbsError("ibv_alloc_pd", pd);
  const unit = o.hugetlb === true ? HPAGE_PMD_SIZE : PAGE_SIZE;
  const len = Math.ceil(o.size / unit) * unit;
  const flags = MAP_PRIVATE | MAP_ANONYMOUS | (o.hugetlb === true ? MAP_HUGETLB : 0);
  const buf = yield* vmMmap(mm, 0, len, PROT_READ | PROT_WRITE, flags);
  if (buf < 0) return new VerbsError("mmap", buf);
  const mr =
    o.implicit === true
      ? yield* ibvRegMr(pd, 0, IMPLICIT_ODP_LENGTH, o.mrAccess)
      : yield* ibvRegMr(pd, buf, len, o.mrAccess);
  if (typeof mr === "number") return new VerbsError("ibv_reg_mr", mr);
  const cq = ibvCreateCq(ctx, 2 * (o.maxRecvWr ?? 64) + 2);
  const qp = yield* ibvCreateQp(pd, {
    qpType: o.qpType,
    sendCq: cq,
    recvCq: cq,
    maxRecvWr: o.maxRecvWr ?? 64,
    maxSendWr: 64,
  });
  if (typeof qp === "number") return new VerbsError("ibv_create_qp", qp);
  return { host, proc, mm, ctx, pd, cq, qp, buf, size: len, mr };
}

/** Where a side can be reached: what the two ends exchange out of band. */
export interface SideAddress {
  readonly lid: number;
  readonly qpn: number;
  readonly psn: number;
}

export function sideAddress(side: Side, psn = 0): SideAddress {
  return { lid: side.host.lid, qpn: side.qp.qpNum, psn };
}

/** RESET → INIT with the responder access flags (receives may be posted from here). */
export function* initQp(side: Side, qpAccessFlags: number): KGen<number> {
  return yield* ibvModifyQp(side.qp, { qpState: "INIT", qpAccessFlags });
}

/**
 * RC: INIT (unless done already), RTR to `remote`, RTS. The path MTU defaults to
 * ibv_rc_pingpong's (-m 1024); perftest-style programs pass the port's active MTU.
 */
export function* connectRc(
  side: Side,
  remote: SideAddress,
  qpAccessFlags: number,
  myPsn = 0,
  pathMtu = 1024,
): KGen<number> {
  let ret = side.qp.state === "RESET" ? yield* initQp(side, qpAccessFlags) : 0;
  if (ret < 0) return ret;
  ret = yield* ibvModifyQp(side.qp, {
    qpState: "RTR",
    destLid: remote.lid,
    destQpNum: remote.qpn,
    rqPsn: remote.psn,
    pathMtu,
    minRnrTimer: 12,
  });
  if (ret < 0) return ret;
  return yield* ibvModifyQp(side.qp, {
    qpState: "RTS",
    sqPsn: myPsn,
    timeout: 14,
    retryCnt: 7,
    rnrRetry: 7,
  });
}

/** UD: INIT with the Q_Key, RTR, RTS. */
export function* connectUd(side: Side, qkey: number): KGen<number> {
  let ret = yield* ibvModifyQp(side.qp, { qpState: "INIT", qkey });
  if (ret < 0) return ret;
  ret = yield* ibvModifyQp(side.qp, { qpState: "RTR", pathMtu: 4096 });
  if (ret < 0) return ret;
  return yield* ibvModifyQp(side.qp, { qpState: "RTS", sqPsn: 0 });
}
