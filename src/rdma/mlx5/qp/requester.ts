/**
 * The requester: the device task that executes a QP's send queue, one WQE at a time,
 * in posting order.
 *
 * Models the send side of the HCA's transport engine for RC and UD, with the driver's
 * WQE page-fault handling (mlx5_ib_mr_wqe_pfault_handler in drivers/infiniband/hw/mlx5/
 * odp.c): gathering a WQE's local buffers may fault each key, the WQE resumes after the
 * handler, and a fatal error completes the WQE with an error and moves the QP to the
 * error state, after which the rest of the queue is flushed (IB_WC_WR_FLUSH_ERR).
 *
 * Reliable connection: a request waits for its ACK / response; an RNR NAK is retried
 * after min_rnr_timer (rnr_retry 7 = for ever); no answer within the local ACK timeout
 * (4.096 us * 2^timeout) resends up to retry_cnt times, then IB_WC_RETRY_EXC_ERR.
 * Simplification: one outstanding request per QP (no pipelining of WQEs).
 */
import type { KGen } from "../../../sim/task.ts";
import type { IbWcStatus } from "../../core/ibCq.ts";
import { IB_SEND_SIGNALED, type IbSendWr } from "../../core/ibQp.ts";
import type { Mlx5Qp } from "./mlx5Qp.ts";
import { gatherSgl, scatterSgl } from "./keyAccess.ts";
import type { AckSyndrome, Packet, PacketBody } from "./packet.ts";

/** The local ACK timeout: 4.096 us * 2^timeout (IBA 9.7.6.1.3). */
export function ackTimeoutNs(timeout: number): number {
  return 4096 * 2 ** Math.min(timeout, 31);
}

/** IBA table 45: the RNR NAK timer of each min_rnr_timer code, in microseconds. */
const RNR_TIMER_US = [
  655_360, 10, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960, 1280, 1920, 2560, 3840, 5120,
  7680, 10_240, 15_360, 20_480, 30_720, 40_960, 61_440, 81_920, 122_880, 163_840, 245_760, 327_680,
  491_520,
];

/** The RNR NAK delay of a min_rnr_timer code (12 is 0.64 ms). */
export function rnrTimerNs(code: number): number {
  return (RNR_TIMER_US[code & 31] as number) * 1000;
}

interface Outcome {
  readonly status: IbWcStatus;
  readonly byteLen: number;
}

const OK = (byteLen: number): Outcome => ({ status: "SUCCESS", byteLen });

export function* qpRequester(qp: Mlx5Qp): KGen {
  for (;;) {
    yield* qp.sqEvent.waitEvent(
      () => qp.destroyed || (qp.sq.length > 0 && (qp.state === "RTS" || qp.state === "ERR")),
    );
    if (qp.destroyed) return;
    const wr = qp.sq[0] as IbSendWr;
    if (qp.state === "ERR") {
      qp.sq.shift();
      qp.completeSend(wr, "WR_FLUSH_ERR");
      continue;
    }
    const out = yield* executeWqe(qp, wr);
    if (destroyedMeanwhile(qp)) return;
    qp.sq.shift();
    if (out.status !== "SUCCESS") {
      // An error completes even an unsignaled WR; the rest of the queue is flushed.
      qp.completeSend(wr, out.status, out.byteLen);
      qp.moveToError();
    } else if (qp.init.sqSigAll === true || ((wr.sendFlags ?? 0) & IB_SEND_SIGNALED) !== 0) {
      qp.completeSend(wr, "SUCCESS", out.byteLen);
    }
  }
}

/** Re-reads the flag another task may have set while the WQE ran. */
function destroyedMeanwhile(qp: Mlx5Qp): boolean {
  return qp.destroyed;
}

function* executeWqe(qp: Mlx5Qp, wr: IbSendWr): KGen<Outcome> {
  const k = qp.pd.uctx.k;
  k.event("wqe", { qpn: qp.qpNum, wrId: wr.wrId, opcode: wr.opcode });
  switch (wr.opcode) {
    case "SEND":
    case "RDMA_WRITE": {
      const payload = yield* gatherSgl(qp, wr.sgList);
      if (payload === null) return { status: "LOC_PROT_ERR", byteLen: 0 };
      if (qp.qpType === "UD") return sendUd(qp, wr, payload);
      const body: PacketBody =
        wr.opcode === "SEND"
          ? { kind: "send", payload }
          : { kind: "write", rkey: wr.rkey ?? 0, va: wr.remoteAddr ?? 0, payload };
      const resp = yield* request(qp, body);
      return resp.status !== "SUCCESS" ? resp : OK(payload.length);
    }
    case "RDMA_READ": {
      let length = 0;
      for (const sge of wr.sgList) length += sge.length;
      const body: PacketBody = {
        kind: "read",
        rkey: wr.rkey ?? 0,
        va: wr.remoteAddr ?? 0,
        length,
      };
      return yield* requestAndScatter(qp, wr, body);
    }
    case "ATOMIC_CMP_AND_SWP":
    case "ATOMIC_FETCH_AND_ADD": {
      const body: PacketBody = {
        kind: "atomic",
        op: wr.opcode === "ATOMIC_CMP_AND_SWP" ? "cmp_swp" : "fetch_add",
        rkey: wr.rkey ?? 0,
        va: wr.remoteAddr ?? 0,
        compareAdd: wr.compareAdd ?? 0n,
        swap: wr.swap ?? 0n,
      };
      return yield* requestAndScatter(qp, wr, body);
    }
  }
}

/** RDMA READ and atomics: the response's data lands in the WQE's local buffers. */
function* requestAndScatter(qp: Mlx5Qp, wr: IbSendWr, body: PacketBody): KGen<Outcome> {
  if (qp.qpType !== "RC") return { status: "LOC_QP_OP_ERR", byteLen: 0 };
  const resp = yield* request(qp, body);
  if (resp.status !== "SUCCESS") return resp;
  const data = resp.data ?? new Uint8Array(0);
  // The responder's data is written by the requester: a WQE fault on a local key.
  const r = yield* scatterSgl(qp, wr.sgList, data);
  if (r === "len") return { status: "LOC_LEN_ERR", byteLen: 0 };
  if (r === "prot") return { status: "LOC_PROT_ERR", byteLen: 0 };
  return OK(data.length);
}

function sendUd(qp: Mlx5Qp, wr: IbSendWr, payload: Uint8Array): Outcome {
  if (payload.length > qp.pathMtu) return { status: "LOC_LEN_ERR", byteLen: 0 };
  qp.port.transmit({
    srcLid: qp.port.lid,
    srcQpn: qp.qpNum,
    dstLid: wr.ah?.dlid ?? 0,
    dstQpn: wr.remoteQpn ?? 0,
    psn: qp.nextPsn++,
    body: { kind: "ud_send", qkey: wr.remoteQkey ?? 0, payload },
  });
  return OK(payload.length);
}

const NAK_STATUS: Readonly<Record<AckSyndrome, IbWcStatus>> = {
  ack: "SUCCESS",
  rnr: "RNR_RETRY_EXC_ERR",
  rem_access: "REM_ACCESS_ERR",
  rem_inv_req: "REM_INV_REQ_ERR",
  rem_op: "REM_OP_ERR",
};

interface Response {
  readonly status: IbWcStatus;
  readonly byteLen: number;
  readonly data?: Uint8Array;
}

/** Sends one RC request and waits for its answer, with the RNR and timeout retries. */
function* request(qp: Mlx5Qp, body: PacketBody): KGen<Response> {
  const k = qp.pd.uctx.k;
  const psn = qp.nextPsn++;
  const pkt: Packet = {
    srcLid: qp.port.lid,
    srcQpn: qp.qpNum,
    dstLid: qp.destLid,
    dstQpn: qp.destQpNum,
    psn,
    body,
  };
  let retries = 0;
  let rnrRetries = 0;
  for (;;) {
    qp.port.transmit(pkt);
    const answered = () => qp.destroyed || qp.state === "ERR" || hasAnswer(qp, psn);
    const left = yield* qp.respEvent.waitEventTimeout(answered, ackTimeoutNs(qp.timeout));
    if (qp.destroyed || qp.state === "ERR") return { status: "WR_FLUSH_ERR", byteLen: 0 };
    if (left === 0) {
      k.event("qp_ack_timeout", { qpn: qp.qpNum, psn, retries });
      if (++retries > qp.retryCnt) return { status: "RETRY_EXC_ERR", byteLen: 0 };
      continue;
    }
    const ack = takeAnswer(qp, psn);
    if (ack.body.kind !== "ack") throw new Error("a request was queued as a response");
    const syndrome = ack.body.syndrome;
    if (syndrome === "rnr") {
      k.event("qp_rnr_nak", { qpn: qp.qpNum, psn });
      if (qp.rnrRetry !== 7 && ++rnrRetries > qp.rnrRetry) {
        return { status: "RNR_RETRY_EXC_ERR", byteLen: 0 };
      }
      yield* k.sleep(rnrTimerNs(qp.minRnrTimer));
      continue;
    }
    const data = ack.body.data;
    return { status: NAK_STATUS[syndrome], byteLen: data?.length ?? 0, ...(data ? { data } : {}) };
  }
}

/** Answers to other PSNs (late answers to resent requests) are dropped. */
function hasAnswer(qp: Mlx5Qp, psn: number): boolean {
  while (qp.responses.length > 0 && (qp.responses[0] as Packet).psn !== psn) qp.responses.shift();
  return qp.responses.length > 0;
}

function takeAnswer(qp: Mlx5Qp, psn: number): Packet {
  if (!hasAnswer(qp, psn)) throw new Error("no answer to take");
  return qp.responses.shift() as Packet;
}
