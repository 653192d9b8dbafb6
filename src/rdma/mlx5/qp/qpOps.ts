/**
 * The mlx5 driver's QP verbs: create, modify (the RESET → INIT → RTR → RTS ladder),
 * post send / receive, destroy.
 *
 * Models mlx5_ib_create_qp / mlx5_ib_modify_qp / mlx5_ib_post_send / mlx5_ib_post_recv /
 * mlx5_ib_destroy_qp (drivers/infiniband/hw/mlx5/qp.c, wr.c) as far as the transport
 * needs: posting checks the QP state and the queue depth and rings the doorbell; the
 * device tasks (requester.ts, responder.ts) do the work. A QP is in the mlx5 core's
 * table (qpTable.ts) from create to destroy. Destroy stops the hardware QP (its pending
 * page faults are dropped), takes it out of the table and waits for every holder, then
 * waits for both device tasks to stop.
 */
import { EINVAL, ENOMEM } from "../../../sim/errno.ts";
import type { KGen } from "../../../sim/task.ts";
import type { IbPd } from "../../core/ibPd.ts";
import type { IbQp, IbQpAttr, IbQpInitAttr, IbQpOps, IbRecvWr, IbSendWr } from "../../core/ibQp.ts";
import type { Mlx5IbDev } from "../mlx5IbDev.ts";
import type { Mlx5OdpDesign } from "../odp/mlx5OdpDesign.ts";
import { Mlx5Port } from "./mlx5Port.ts";
import { Mlx5Qp } from "./mlx5Qp.ts";
import { qpRequester } from "./requester.ts";
import { qpResponder } from "./responder.ts";
import { createResourceCommon, destroyResourceCommon, mlx5QpTable } from "./qpTable.ts";

const DEFAULT_MAX_WR = 1024;

/** The QP ops of one device and the port they run on. */
export function mlx5QpOps(dev: Mlx5IbDev, design: Mlx5OdpDesign): { ops: IbQpOps; port: Mlx5Port } {
  const port = new Mlx5Port(dev, design);
  const asMlx5 = (qp: IbQp): Mlx5Qp => {
    if (!(qp instanceof Mlx5Qp) || qp.port !== port) throw new Error("QP of another device");
    return qp;
  };
  const ops: IbQpOps = {
    createQp: (pd: IbPd, init: IbQpInitAttr) => mlx5IbCreateQp(port, pd, init),
    modifyQp: (ibqp: IbQp, attr: IbQpAttr) => mlx5IbModifyQp(asMlx5(ibqp), attr),
    postSend: (ibqp: IbQp, wr: IbSendWr) => postSend(asMlx5(ibqp), wr),
    postRecv: (ibqp: IbQp, wr: IbRecvWr) => postRecv(asMlx5(ibqp), wr),
    destroyQp: (ibqp: IbQp) => mlx5IbDestroyQp(asMlx5(ibqp)),
  };
  return { ops, port };
}

function* mlx5IbCreateQp(port: Mlx5Port, pd: IbPd, init: IbQpInitAttr): KGen<IbQp> {
  yield "create_qp";
  const dev = port.dev;
  const qp = new Mlx5Qp(port, pd, port.allocQpn(), init);
  port.qps.set(qp.qpNum, qp);
  qp.rsc = yield* createResourceCommon(mlx5QpTable(dev), qp.qpNum, qp);
  const group = { kind: "device", name: dev.name } as const;
  qp.requester = dev.k.spawn(`qp${qp.qpNum}.req`, group, () => qpRequester(qp));
  qp.responder = dev.k.spawn(`qp${qp.qpNum}.resp`, group, () => qpResponder(qp));
  return qp;
}

function* mlx5IbModifyQp(qp: Mlx5Qp, attr: IbQpAttr): KGen<number> {
  yield "modify_qp";
  return modifyQp(qp, attr);
}

function* mlx5IbDestroyQp(qp: Mlx5Qp): KGen<number> {
  const k = qp.port.dev.k;
  qp.destroyed = true;
  qp.sqEvent.wakeUp();
  qp.inEvent.wakeUp();
  qp.respEvent.wakeUp();
  qp.pfEvent.wakeUp();
  qp.port.qps.delete(qp.qpNum);
  if (qp.rsc !== null) yield* destroyResourceCommon(mlx5QpTable(qp.port.dev), qp.rsc);
  if (qp.requester !== null) yield* k.join(qp.requester);
  if (qp.responder !== null) yield* k.join(qp.responder);
  k.kasan.free(qp);
  return 0;
}

const NEXT: Readonly<Record<string, readonly string[]>> = {
  RESET: ["INIT"],
  INIT: ["INIT", "RTR"],
  RTR: ["RTS"],
  RTS: ["RTS"],
  ERR: [],
};

function modifyQp(qp: Mlx5Qp, attr: IbQpAttr): number {
  const to = attr.qpState;
  if (to === "ERR") {
    qp.moveToError();
    return 0;
  }
  if (to === "RESET") {
    qp.state = "RESET";
    qp.sq.length = 0;
    qp.rq.length = 0;
    return 0;
  }
  if (!(NEXT[qp.state] ?? []).includes(to)) return EINVAL;
  if (to === "INIT") {
    qp.qpAccessFlags = attr.qpAccessFlags ?? qp.qpAccessFlags;
    qp.qkey = attr.qkey ?? qp.qkey;
  } else if (to === "RTR") {
    if (qp.qpType === "RC" && (attr.destQpNum === undefined || attr.destLid === undefined)) {
      return EINVAL;
    }
    qp.destLid = attr.destLid ?? 0;
    qp.destQpNum = attr.destQpNum ?? 0;
    qp.pathMtu = attr.pathMtu ?? qp.pathMtu;
    qp.rqPsn = attr.rqPsn ?? 0;
    qp.expectedPsn = qp.rqPsn;
    qp.minRnrTimer = attr.minRnrTimer ?? qp.minRnrTimer;
  } else {
    qp.sqPsn = attr.sqPsn ?? qp.sqPsn;
    if (qp.state === "RTR") qp.nextPsn = qp.sqPsn;
    qp.timeout = attr.timeout ?? qp.timeout;
    qp.retryCnt = attr.retryCnt ?? qp.retryCnt;
    qp.rnrRetry = attr.rnrRetry ?? qp.rnrRetry;
  }
  qp.state = to;
  qp.sqEvent.wakeUp();
  return 0;
}

function postSend(qp: Mlx5Qp, wr: IbSendWr): number {
  if (qp.destroyed) return EINVAL;
  if (qp.state !== "RTS" && qp.state !== "ERR") return EINVAL;
  if (qp.qpType === "UD" && wr.opcode !== "SEND") return EINVAL;
  if (qp.sq.length >= (qp.init.maxSendWr ?? DEFAULT_MAX_WR)) return ENOMEM;
  qp.sq.push(wr);
  qp.sqEvent.wakeUp();
  return 0;
}

function postRecv(qp: Mlx5Qp, wr: IbRecvWr): number {
  if (qp.destroyed || qp.state === "RESET") return EINVAL;
  if (qp.rq.length >= (qp.init.maxRecvWr ?? DEFAULT_MAX_WR)) return ENOMEM;
  if (qp.state === "ERR") {
    qp.completeRecv(wr, "WR_FLUSH_ERR", 0, 0);
    return 0;
  }
  qp.rq.push(wr);
  // A receive may be what an RNR-NAKed SEND was waiting for; the requester retries.
  return 0;
}
