/**
 * Completion queues and work completions.
 *
 * Models struct ib_cq / struct ib_wc (include/rdma/ib_verbs.h) with the user-side verbs
 * of libibverbs (ibv_create_cq, ibv_poll_cq, ibv_req_notify_cq + ibv_get_cq_event).
 * The device pushes a completion when a work request finishes; a program polls them
 * without blocking or sleeps until one arrives (the completion-channel event path,
 * folded into one call). The CQ ring in host memory is not modelled: entries are
 * objects, so a CQ never overruns; `overflowed` records when more than `cqe` were
 * outstanding, which on hardware would have raised IB_EVENT_CQ_ERR. A CQ's handle and
 * its use count are the uverbs core's (drivers/infiniband/core/verbs.c, rdma_core.c).
 */
import { EBUSY, ENOENT } from "../../sim/errno.ts";
import { KObject } from "../../sim/kasan.ts";
import { WaitQueueHead } from "../../sim/sync/waitQueue.ts";
import type { KGen } from "../../sim/task.ts";
import type { IbUcontext } from "./ucontext.ts";

/** enum ib_wc_status (the ones the model produces). */
export type IbWcStatus =
  | "SUCCESS"
  | "LOC_LEN_ERR"
  | "LOC_QP_OP_ERR"
  | "LOC_PROT_ERR"
  | "WR_FLUSH_ERR"
  | "REM_INV_REQ_ERR"
  | "REM_ACCESS_ERR"
  | "REM_OP_ERR"
  | "RETRY_EXC_ERR"
  | "RNR_RETRY_EXC_ERR";

/** enum ib_wc_opcode. */
export type IbWcOpcode = "SEND" | "RDMA_WRITE" | "RDMA_READ" | "COMP_SWAP" | "FETCH_ADD" | "RECV";

/** struct ib_wc. */
export interface IbWc {
  readonly wrId: number;
  readonly status: IbWcStatus;
  readonly opcode: IbWcOpcode;
  /** Bytes received (receives), or moved (RDMA READ / atomics). */
  readonly byteLen: number;
  readonly qpNum: number;
  /** Receives: the sending QP (UD) or the connected peer (RC). */
  readonly srcQp: number;
}

export class IbCq extends KObject {
  private readonly entries: IbWc[] = [];
  private readonly event: WaitQueueHead;
  /** More than `cqe` completions were outstanding at once. */
  overflowed = false;
  /** cq->usecnt: the QPs that complete into this CQ (it cannot be destroyed under them). */
  usecnt = 0;
  /** The CQ's uverbs handle is gone (destroyed): a later command naming it finds nothing. */
  handleDestroyed = false;

  constructor(
    readonly uctx: IbUcontext,
    /** The requested depth (ibv_create_cq's cqe). */
    readonly cqe: number,
  ) {
    super(uctx.k.kasan, "ib_cq");
    this.event = new WaitQueueHead(uctx.k, `cq_event(${this.objName})`);
  }

  /** The device writes a CQE and raises the completion event. */
  push(wc: IbWc): void {
    if (!this.uctx.k.kasan.check(this, "the device writes a CQE")) return;
    this.entries.push(wc);
    if (this.entries.length > this.cqe) this.overflowed = true;
    this.event.wakeUp();
  }

  /** ibv_poll_cq(): up to `max` completions, oldest first; never blocks. */
  poll(max: number): IbWc[] {
    return this.entries.splice(0, Math.max(0, max));
  }

  /** Completions waiting to be polled. */
  get depth(): number {
    return this.entries.length;
  }

  /** ibv_req_notify_cq + ibv_get_cq_event: sleeps until a completion is queued. */
  *waitEvent(timeoutNs = Infinity): KGen<boolean> {
    const left = yield* this.event.waitEventTimeout(() => this.entries.length > 0, timeoutNs);
    return left > 0;
  }
}

/** ibv_create_cq(). */
export function ibvCreateCq(uctx: IbUcontext, cqe: number): IbCq {
  return new IbCq(uctx, cqe);
}

/** ibv_poll_cq(). */
export function ibvPollCq(cq: IbCq, max: number): IbWc[] {
  return cq.poll(max);
}

/** Polls until `n` completions have arrived, sleeping on the CQ event in between. */
export function* ibvWaitCompletions(cq: IbCq, n: number, timeoutNs = Infinity): KGen<IbWc[]> {
  const out: IbWc[] = [];
  while (out.length < n) {
    out.push(...cq.poll(n - out.length));
    if (out.length >= n) break;
    if (!(yield* cq.waitEvent(timeoutNs))) break;
  }
  return out;
}

/**
 * ibv_destroy_cq(): -ENOENT for a handle destroyed before (the uobject lookup fails, as
 * for a QP), -EBUSY while a QP still completes into it (ib_destroy_cq_user checks
 * cq->usecnt), else the CQ is freed.
 */
export function ibvDestroyCq(cq: IbCq): number {
  if (cq.handleDestroyed) return ENOENT;
  if (cq.usecnt > 0) return EBUSY;
  cq.handleDestroyed = true;
  cq.uctx.k.kasan.free(cq);
  return 0;
}
