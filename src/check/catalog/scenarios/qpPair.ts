/**
 * The setup of the catalog scenarios that need queue pairs: the ODP host's device on a
 * wire (alone: it talks to itself), and two RC QPs of the process connected to each
 * other, each with its own CQ, both in RTS.
 *
 * Models no kernel file: the user-space part of a loopback ibv_rc_pingpong
 * (pp_init_ctx / pp_connect_ctx) written against odpsim's verbs.
 */
import type { KGen } from "../../../sim/task.ts";
import { ibvCreateCq, type IbCq } from "../../../rdma/core/ibCq.ts";
import type { IbPd } from "../../../rdma/core/ibPd.ts";
import { ibvCreateQp, ibvModifyQp, type IbQp } from "../../../rdma/core/ibQp.ts";
import {
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_REMOTE_READ,
  IB_ACCESS_REMOTE_WRITE,
} from "../../../rdma/core/ibVerbs.ts";
import { Wire } from "../../../rdma/wire/wire.ts";
import type { OdpHost } from "./odpHost.ts";

export interface QpEnd {
  readonly qp: IbQp;
  readonly cq: IbCq;
}

/** Plugs the host's device into a wire of its own and returns its LID. */
export function loopbackLid(host: OdpHost): number {
  return new Wire(host.k).attach(host.dev);
}

/** Two RC QPs on `pd`, connected to each other through the device's own LID. */
export function* connectedQpPair(pd: IbPd, lid: number): KGen<[QpEnd, QpEnd]> {
  const a = yield* rcQp(pd);
  const b = yield* rcQp(pd);
  yield* toRts(a.qp, lid, b.qp.qpNum);
  yield* toRts(b.qp, lid, a.qp.qpNum);
  return [a, b];
}

function* rcQp(pd: IbPd): KGen<QpEnd> {
  const cq = ibvCreateCq(pd.uctx, 64);
  const qp = yield* ibvCreateQp(pd, {
    qpType: "RC",
    sendCq: cq,
    recvCq: cq,
    maxRecvWr: 16,
    maxSendWr: 16,
  });
  if (typeof qp === "number") throw new Error(`create_qp failed: ${qp}`);
  return { qp, cq };
}

function* toRts(qp: IbQp, lid: number, destQpNum: number): KGen {
  const qpAccessFlags = IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_WRITE | IB_ACCESS_REMOTE_READ;
  const steps = [
    { qpState: "INIT", qpAccessFlags },
    { qpState: "RTR", destLid: lid, destQpNum, rqPsn: 0, pathMtu: 1024, minRnrTimer: 12 },
    { qpState: "RTS", sqPsn: 0, timeout: 14, retryCnt: 7, rnrRetry: 7 },
  ] as const;
  for (const attr of steps) {
    const ret = yield* ibvModifyQp(qp, attr);
    if (ret < 0) throw new Error(`modify_qp to ${attr.qpState} failed: ${ret}`);
  }
}
