/**
 * The responder: the device task that serves the requests arriving for a QP, in order.
 *
 * Models the receive side of the HCA's transport engine with the driver's responder
 * page-fault handling (drivers/infiniband/hw/mlx5/odp.c: a WQE fault on the receive
 * queue when a SEND lands in a posted buffer, and an RDMA responder fault,
 * mlx5_ib_mr_rdma_pfault_handler, on the rkey / va / length of an RDMA WRITE, READ or
 * atomic). The faulting access waits for the handler and resumes; a fatal error, or a
 * failed key check, NAKs the request and puts the QP in the error state.
 *
 * Simplification: after an RDMA responder fault the kernel also prefetches up to 4 MiB
 * past the faulting range (mlx5_ib_mr_rdma_pfault_handler's prefetch_len); here the
 * responder faults only what the access touches, page by page, through the design.
 *
 * RC: a SEND with no receive posted is answered with an RNR NAK; a duplicate (a request
 * the requester resent after a timeout) gets the last answer again. UD: a datagram whose
 * Q_Key does not match, or that finds no receive posted, is dropped; a receive gets the
 * 40-byte GRH area first.
 */
import type { KGen } from "../../../sim/task.ts";
import {
  IB_ACCESS_REMOTE_ATOMIC,
  IB_ACCESS_REMOTE_READ,
  IB_ACCESS_REMOTE_WRITE,
} from "../../core/ibVerbs.ts";
import type { IbRecvWr } from "../../core/ibQp.ts";
import { qpDma, remoteKeyOk, scatterSgl } from "./keyAccess.ts";
import type { Mlx5Qp } from "./mlx5Qp.ts";
import type { AckSyndrome, Packet, PacketBody } from "./packet.ts";

/** The Global Route Header that precedes a UD payload in the receive buffer. */
export const GRH_BYTES = 40;

interface Answer {
  readonly syndrome: AckSyndrome;
  readonly data?: Uint8Array;
  /** The request was consumed (the next PSN is expected); false for an RNR NAK. */
  readonly done: boolean;
}

export function* qpResponder(qp: Mlx5Qp): KGen {
  for (;;) {
    yield* qp.inEvent.waitEvent(() => qp.destroyed || qp.inbound.length > 0);
    if (qp.destroyed) return;
    const pkt = qp.inbound.shift() as Packet;
    if (qp.qpType === "UD") yield* receiveUd(qp, pkt);
    else yield* serveRc(qp, pkt);
  }
}

function* serveRc(qp: Mlx5Qp, pkt: Packet): KGen {
  // A QP not ready to receive, or in the error state, sends nothing back.
  if (qp.state !== "RTR" && qp.state !== "RTS") return;
  if (pkt.psn < qp.expectedPsn) {
    if (qp.lastResponse !== null && qp.lastResponse.psn === pkt.psn) {
      qp.port.transmit(qp.lastResponse);
    }
    return;
  }
  const answer = yield* execute(qp, pkt.body);
  if (qp.destroyed) return;
  const body: PacketBody =
    answer.data === undefined
      ? { kind: "ack", syndrome: answer.syndrome }
      : { kind: "ack", syndrome: answer.syndrome, data: answer.data };
  const resp: Packet = {
    srcLid: qp.port.lid,
    srcQpn: qp.qpNum,
    dstLid: pkt.srcLid,
    dstQpn: pkt.srcQpn,
    psn: pkt.psn,
    body,
  };
  if (answer.done) {
    qp.expectedPsn = pkt.psn + 1;
    qp.lastResponse = resp;
  }
  qp.port.transmit(resp);
  if (answer.syndrome !== "ack" && answer.syndrome !== "rnr") qp.moveToError();
}

function* execute(qp: Mlx5Qp, body: PacketBody): KGen<Answer> {
  switch (body.kind) {
    case "send":
      return yield* receiveSend(qp, body.payload);
    case "write": {
      const len = body.payload.length;
      if (!remoteKeyOk(qp, body.rkey, body.va, len, IB_ACCESS_REMOTE_WRITE)) return nak();
      const ret = len === 0 ? 0 : yield* qpDma(qp, body.rkey, body.va, body.payload, true);
      return ret === 0 ? ack() : nak();
    }
    case "read": {
      if (!remoteKeyOk(qp, body.rkey, body.va, body.length, IB_ACCESS_REMOTE_READ)) return nak();
      const data = new Uint8Array(body.length);
      const ret = body.length === 0 ? 0 : yield* qpDma(qp, body.rkey, body.va, data, false);
      return ret === 0 ? { syndrome: "ack", data, done: true } : nak();
    }
    case "atomic":
      return yield* atomic(qp, body);
    case "ack":
    case "ud_send":
      return { syndrome: "rem_inv_req", done: true };
  }
}

function ack(): Answer {
  return { syndrome: "ack", done: true };
}

function nak(): Answer {
  return { syndrome: "rem_access", done: true };
}

/** A SEND lands in the next posted receive (a responder WQE fault may happen here). */
function* receiveSend(qp: Mlx5Qp, payload: Uint8Array): KGen<Answer> {
  const wr = qp.rq[0];
  if (wr === undefined) return { syndrome: "rnr", done: false };
  qp.rq.shift();
  const r = yield* scatterSgl(qp, wr.sgList, payload);
  if (r === "ok") {
    qp.completeRecv(wr, "SUCCESS", payload.length, qp.destQpNum);
    return ack();
  }
  qp.completeRecv(wr, r === "len" ? "LOC_LEN_ERR" : "LOC_PROT_ERR", 0, qp.destQpNum);
  return { syndrome: r === "len" ? "rem_inv_req" : "rem_op", done: true };
}

/**
 * Compare-and-swap / fetch-and-add on 8 aligned bytes, big-endian as on the wire; the
 * original value goes back in the response. The device's atomic unit is held across
 * the read and the write so no other QP's atomic interleaves.
 */
function* atomic(qp: Mlx5Qp, body: Extract<PacketBody, { kind: "atomic" }>): KGen<Answer> {
  if (body.va % 8 !== 0) return { syndrome: "rem_inv_req", done: true };
  if (!remoteKeyOk(qp, body.rkey, body.va, 8, IB_ACCESS_REMOTE_ATOMIC)) return nak();
  const lock = qp.port.atomicLock;
  yield* lock.lock();
  const old = new Uint8Array(8);
  let ret = yield* qpDma(qp, body.rkey, body.va, old, false);
  if (ret === 0) {
    const view = new DataView(old.buffer);
    const orig = view.getBigUint64(0);
    const add = body.op === "fetch_add";
    if (add || orig === body.compareAdd) {
      const next = add ? BigInt.asUintN(64, orig + body.compareAdd) : body.swap;
      const out = new Uint8Array(8);
      new DataView(out.buffer).setBigUint64(0, next);
      ret = yield* qpDma(qp, body.rkey, body.va, out, true);
    }
  }
  lock.unlock();
  return ret === 0 ? { syndrome: "ack", data: old, done: true } : nak();
}

function* receiveUd(qp: Mlx5Qp, pkt: Packet): KGen {
  const body = pkt.body;
  if (body.kind !== "ud_send" || qp.state === "ERR") return;
  if (qp.state !== "RTR" && qp.state !== "RTS") return;
  if (body.qkey !== qp.qkey) return;
  const wr: IbRecvWr | undefined = qp.rq.shift();
  if (wr === undefined) return;
  const data = new Uint8Array(GRH_BYTES + body.payload.length);
  data.set(body.payload, GRH_BYTES);
  const r = yield* scatterSgl(qp, wr.sgList, data);
  if (r === "ok") {
    qp.completeRecv(wr, "SUCCESS", data.length, pkt.srcQpn);
    return;
  }
  qp.completeRecv(wr, r === "len" ? "LOC_LEN_ERR" : "LOC_PROT_ERR", 0, pkt.srcQpn);
  qp.moveToError();
}
