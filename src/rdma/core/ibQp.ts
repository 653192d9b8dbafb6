/**
 * Queue pairs and work requests as the IB core and user programs see them.
 *
 * Models struct ib_qp, struct ib_qp_init_attr, struct ib_qp_attr, struct ib_send_wr /
 * ib_rdma_wr / ib_atomic_wr / ib_ud_wr and struct ib_recv_wr (include/rdma/ib_verbs.h),
 * with the user verbs of libibverbs (ibv_create_qp, ibv_modify_qp, ibv_post_send,
 * ibv_post_recv, ibv_destroy_qp). The device does the work (src/rdma/mlx5/qp); the core
 * checks the arguments it checks and dispatches to the driver's QP ops.
 */
import { EINVAL, EIO, ENOENT, EOPNOTSUPP } from "../../sim/errno.ts";
import { KObject } from "../../sim/kasan.ts";
import type { KGen } from "../../sim/task.ts";
import type { IbCq } from "./ibCq.ts";
import type { IbPd } from "./ibPd.ts";
import { sgeLengthsFit } from "./ibVerbs.ts";

export type IbQpType = "RC" | "UD";

/** enum ib_qp_state. */
export type IbQpState = "RESET" | "INIT" | "RTR" | "RTS" | "ERR";

/** One scatter/gather element of a work request. */
export interface IbWrSge {
  readonly addr: number;
  readonly length: number;
  readonly lkey: number;
}

/** enum ib_wr_opcode (the ones modelled). */
export type IbWrOpcode =
  "SEND" | "RDMA_WRITE" | "RDMA_READ" | "ATOMIC_CMP_AND_SWP" | "ATOMIC_FETCH_AND_ADD";

/** IB_SEND_SIGNALED. */
export const IB_SEND_SIGNALED = 1 << 1;

/** struct ib_send_wr with its RDMA / atomic / UD extensions flattened. */
export interface IbSendWr {
  readonly wrId: number;
  readonly opcode: IbWrOpcode;
  readonly sgList: readonly IbWrSge[];
  /** IB_SEND_SIGNALED etc.; unsignaled WRs complete silently unless sq_sig_all. */
  readonly sendFlags?: number;
  /** RDMA and atomics: the remote address and key. */
  readonly remoteAddr?: number;
  readonly rkey?: number;
  /** Atomics: compare (CAS) or add (FAA) operand, and the swap value (CAS). */
  readonly compareAdd?: bigint;
  readonly swap?: bigint;
  /** UD: the destination (address handle's LID), QP number and Q_Key. */
  readonly ah?: { readonly dlid: number };
  readonly remoteQpn?: number;
  readonly remoteQkey?: number;
}

/** struct ib_recv_wr. */
export interface IbRecvWr {
  readonly wrId: number;
  readonly sgList: readonly IbWrSge[];
}

/** struct ib_qp_init_attr. */
export interface IbQpInitAttr {
  readonly qpType: IbQpType;
  readonly sendCq: IbCq;
  readonly recvCq: IbCq;
  readonly maxSendWr?: number;
  readonly maxRecvWr?: number;
  /** Every send WR completes with a CQE (sq_sig_type IB_SIGNAL_ALL_WR). */
  readonly sqSigAll?: boolean;
}

/** struct ib_qp_attr: the fields ibv_modify_qp sets on the way to RTS. */
export interface IbQpAttr {
  readonly qpState: IbQpState;
  /** INIT: IB_ACCESS_REMOTE_* the responder allows; UD: the Q_Key. */
  readonly qpAccessFlags?: number;
  readonly qkey?: number;
  /** RTR (RC): the peer's LID and QP number, the path MTU, the expected PSN. */
  readonly destLid?: number;
  readonly destQpNum?: number;
  readonly pathMtu?: number;
  readonly rqPsn?: number;
  readonly minRnrTimer?: number;
  /** RTS (RC): the first PSN, the ack timeout exponent and the retry counts. */
  readonly sqPsn?: number;
  readonly timeout?: number;
  readonly retryCnt?: number;
  readonly rnrRetry?: number;
}

/** The QP part of struct ib_device_ops: what a driver implements for QPs. */
export interface IbQpOps {
  createQp(pd: IbPd, init: IbQpInitAttr): KGen<IbQp | number>;
  modifyQp(qp: IbQp, attr: IbQpAttr): KGen<number>;
  postSend(qp: IbQp, wr: IbSendWr): number;
  postRecv(qp: IbQp, wr: IbRecvWr): number;
  destroyQp(qp: IbQp): KGen<number>;
}

/** struct ib_qp: what the core knows of a QP. */
export class IbQp extends KObject {
  state: IbQpState = "RESET";
  qpAccessFlags = 0;
  qkey = 0;
  destLid = 0;
  destQpNum = 0;
  pathMtu = 4096;
  rqPsn = 0;
  sqPsn = 0;
  minRnrTimer = 12;
  timeout = 14;
  retryCnt = 7;
  rnrRetry = 7;
  /**
   * The QP's uverbs handle is gone (ib_uverbs_destroy_qp removed its uobject from the
   * file's table): a later command naming the handle finds nothing.
   */
  handleDestroyed = false;

  constructor(
    readonly pd: IbPd,
    readonly qpNum: number,
    readonly init: IbQpInitAttr,
  ) {
    super(pd.uctx.k.kasan, `ib_qp(${init.qpType})`);
  }

  get qpType(): IbQpType {
    return this.init.qpType;
  }
}

function qpOpsOf(pd: IbPd): IbQpOps | null {
  return pd.uctx.device.driver.qpOps ?? null;
}

/** ibv_create_qp(). */
export function* ibvCreateQp(pd: IbPd, init: IbQpInitAttr): KGen<IbQp | number> {
  if (!pd.uctx.live) return EIO;
  const ops = qpOpsOf(pd);
  if (ops === null) return EOPNOTSUPP;
  if (init.sendCq.uctx !== pd.uctx || init.recvCq.uctx !== pd.uctx) return EINVAL;
  // The CQ handles are looked up first: a destroyed one is not found.
  if (init.sendCq.handleDestroyed || init.recvCq.handleDestroyed) return EINVAL;
  const qp = yield* ops.createQp(pd, init);
  if (typeof qp === "number") return qp;
  // ib_create_qp: the QP holds its CQs (atomic_inc(&cq->usecnt)) until it is destroyed.
  init.sendCq.usecnt++;
  init.recvCq.usecnt++;
  return qp;
}

/** ibv_modify_qp(). */
export function* ibvModifyQp(qp: IbQp, attr: IbQpAttr): KGen<number> {
  const ops = qpOpsOf(qp.pd);
  if (ops === null) return EOPNOTSUPP;
  return yield* ops.modifyQp(qp, attr);
}

/** ibv_post_send(): 0, or an errno (the WR was not queued). */
export function ibvPostSend(qp: IbQp, wr: IbSendWr): number {
  if (!sgeLengthsFit(wr.sgList)) return EINVAL;
  const ops = qpOpsOf(qp.pd);
  return ops === null ? EOPNOTSUPP : ops.postSend(qp, wr);
}

/** ibv_post_recv(). */
export function ibvPostRecv(qp: IbQp, wr: IbRecvWr): number {
  if (!sgeLengthsFit(wr.sgList)) return EINVAL;
  const ops = qpOpsOf(qp.pd);
  return ops === null ? EOPNOTSUPP : ops.postRecv(qp, wr);
}

/**
 * ibv_destroy_qp(). A handle destroyed before is not in the file's uobject table any
 * more: the lookup (lookup_get_idr_uobject(), drivers/infiniband/core/rdma_core.c)
 * fails with -ENOENT and the driver is never called twice for one QP.
 */
export function* ibvDestroyQp(qp: IbQp): KGen<number> {
  if (qp.handleDestroyed) return ENOENT;
  const ops = qpOpsOf(qp.pd);
  if (ops === null) return EOPNOTSUPP;
  qp.handleDestroyed = true;
  const ret = yield* ops.destroyQp(qp);
  if (ret === 0) {
    qp.init.sendCq.usecnt--;
    qp.init.recvCq.usecnt--;
  }
  return ret;
}
