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
 * Reliable connection: a SEND or RDMA WRITE longer than the path MTU leaves as several
 * packets (first / middle / last), back to back; a request waits for the ACK of its
 * last packet, a NAK, or (RDMA READ) all its response packets; an RNR NAK is retried
 * after min_rnr_timer (rnr_retry 7 = for ever); no answer within the local ACK timeout
 * (4.096 us * 2^timeout, restarted by each response packet) resends the whole message
 * up to retry_cnt times, then IB_WC_RETRY_EXC_ERR.
 * Simplifications: one outstanding request per QP (no pipelining of WQEs); a retry
 * resends the message from its first packet, as nothing of it was acknowledged (the
 * responder ACKs only a message's last packet).
 */
import type { KGen } from "../../../sim/task.ts";
import type { IbWcStatus } from "../../core/ibCq.ts";
import { IB_SEND_SIGNALED, type IbSendWr } from "../../core/ibQp.ts";
import type { Mlx5Qp } from "./mlx5Qp.ts";
import { gatherSgl, scatterSgl } from "./keyAccess.ts";
import {
  endsMessage,
  packetCount,
  pathMtuOf,
  segments,
  type AckSyndrome,
  type Packet,
  type PacketBody,
} from "./packet.ts";

/**
 * The local ACK timeout: 4.096 us * 2^timeout (IBA 9.7.6.1.3); 0 switches the timer off
 * (an infinite timeout: the request waits for its answer however long it takes).
 */
export function ackTimeoutNs(timeout: number): number {
  if (timeout === 0) return Infinity;
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
      const bodies = messagePackets(qp, wr, payload);
      const resp = yield* request(qp, bodies, bodies.length);
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
      // The request takes one PSN per response packet.
      return yield* requestAndScatter(qp, wr, body, packetCount(length, pathMtuOf(qp)));
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
      return yield* requestAndScatter(qp, wr, body, 1);
    }
  }
}

/** A SEND or RDMA WRITE cut into path-MTU packets; the first WRITE packet has the RETH. */
function messagePackets(qp: Mlx5Qp, wr: IbSendWr, payload: Uint8Array): PacketBody[] {
  const reth = { rkey: wr.rkey ?? 0, va: wr.remoteAddr ?? 0, dmaLength: payload.length };
  return segments(payload.length, pathMtuOf(qp)).map((seg): PacketBody => {
    const part = payload.subarray(seg.offset, seg.offset + seg.length);
    if (wr.opcode === "SEND") return { kind: "send", pos: seg.pos, payload: part };
    return seg.offset === 0
      ? { kind: "write", pos: seg.pos, reth, payload: part }
      : { kind: "write", pos: seg.pos, payload: part };
  });
}

/** RDMA READ and atomics: the response's data lands in the WQE's local buffers. */
function* requestAndScatter(
  qp: Mlx5Qp,
  wr: IbSendWr,
  body: PacketBody,
  npsn: number,
): KGen<Outcome> {
  if (qp.qpType !== "RC") return { status: "LOC_QP_OP_ERR", byteLen: 0 };
  const resp = yield* request(qp, [body], npsn);
  if (resp.status !== "SUCCESS") return resp;
  const data = resp.data ?? new Uint8Array(0);
  // The responder's data is written by the requester: a WQE fault on a local key.
  const r = yield* scatterSgl(qp, wr.sgList, data);
  if (r === "len") return { status: "LOC_LEN_ERR", byteLen: 0 };
  if (r === "prot") return { status: "LOC_PROT_ERR", byteLen: 0 };
  return OK(data.length);
}

function sendUd(qp: Mlx5Qp, wr: IbSendWr, payload: Uint8Array): Outcome {
  if (payload.length > pathMtuOf(qp)) return { status: "LOC_LEN_ERR", byteLen: 0 };
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

/** What waiting for a message's answer came to. */
type Answer = Response | "timeout" | "rnr";

/**
 * Sends one RC message (its packets take PSNs first .. first + npsn - 1) and waits for
 * its answer, with the RNR and timeout retries; a retry resends the whole message.
 */
function* request(qp: Mlx5Qp, bodies: readonly PacketBody[], npsn: number): KGen<Response> {
  const k = qp.pd.uctx.k;
  const first = qp.nextPsn;
  qp.nextPsn += npsn;
  let retries = 0;
  let rnrRetries = 0;
  for (;;) {
    bodies.forEach((body, i) => {
      qp.port.transmit(packetOf(qp, first + i, body));
    });
    const answer = yield* awaitAnswer(qp, first, first + npsn - 1);
    if (answer === "timeout") {
      k.event("qp_ack_timeout", { qpn: qp.qpNum, psn: first, retries });
      if (++retries > qp.retryCnt) return { status: "RETRY_EXC_ERR", byteLen: 0 };
      continue;
    }
    if (answer === "rnr") {
      k.event("qp_rnr_nak", { qpn: qp.qpNum, psn: first });
      if (qp.rnrRetry !== 7 && ++rnrRetries > qp.rnrRetry) {
        return { status: "RNR_RETRY_EXC_ERR", byteLen: 0 };
      }
      yield* k.sleep(rnrTimerNs(qp.minRnrTimer));
      continue;
    }
    return answer;
  }
}

function packetOf(qp: Mlx5Qp, psn: number, body: PacketBody): Packet {
  return {
    srcLid: qp.port.lid,
    srcQpn: qp.qpNum,
    dstLid: qp.destLid,
    dstQpn: qp.destQpNum,
    psn,
    body,
  };
}

/**
 * Waits for the answer to the message with PSNs [first, last]: the ACK of its last
 * packet, a NAK of any, or (a READ) its response packets in order. Each packet that
 * arrives restarts the ACK timer.
 */
function* awaitAnswer(qp: Mlx5Qp, first: number, last: number): KGen<Answer> {
  const parts: Uint8Array[] = [];
  let next = first;
  for (;;) {
    const answered = () => qp.destroyed || qp.state === "ERR" || hasAnswer(qp, first, last);
    const left = yield* qp.respEvent.waitEventTimeout(answered, ackTimeoutNs(qp.timeout));
    if (qp.destroyed || qp.state === "ERR") return { status: "WR_FLUSH_ERR", byteLen: 0 };
    if (left === 0) return "timeout";
    const pkt = qp.responses.shift() as Packet;
    const b = pkt.body;
    if (b.kind === "read_resp") {
      // A duplicate of a response already taken (after a resent READ) is dropped.
      if (pkt.psn !== next) continue;
      parts.push(b.payload);
      next++;
      if (endsMessage(b.pos)) return readData(parts);
      continue;
    }
    if (b.kind !== "ack") throw new Error("a request was queued as a response");
    if (b.syndrome === "rnr") return "rnr";
    // A coalesced ACK of an earlier packet of the message says nothing yet.
    if (b.syndrome === "ack" && pkt.psn !== last) continue;
    const data = b.data;
    return {
      status: NAK_STATUS[b.syndrome],
      byteLen: data?.length ?? 0,
      ...(data ? { data } : {}),
    };
  }
}

function readData(parts: readonly Uint8Array[]): Response {
  let length = 0;
  for (const p of parts) length += p.length;
  const data = new Uint8Array(length);
  let off = 0;
  for (const p of parts) {
    data.set(p, off);
    off += p.length;
  }
  return { status: "SUCCESS", byteLen: length, data };
}

/** Answers to PSNs outside [first, last] (late answers to earlier messages) are dropped. */
function hasAnswer(qp: Mlx5Qp, first: number, last: number): boolean {
  for (;;) {
    const head = qp.responses[0];
    if (head === undefined) return false;
    if (head.psn >= first && head.psn <= last) return true;
    qp.responses.shift();
  }
}
