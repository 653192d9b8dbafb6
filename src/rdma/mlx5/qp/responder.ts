/**
 * The responder: the device task that serves the requests arriving for a QP, in order.
 *
 * Models the receive side of the HCA's transport engine with the driver's responder
 * page-fault handling (drivers/infiniband/hw/mlx5/odp.c: a WQE fault on the receive
 * queue when a SEND lands in a posted buffer, and an RDMA responder fault,
 * mlx5_ib_mr_rdma_pfault_handler, on the rkey / va / length of an RDMA WRITE, READ or
 * atomic). The faulting access waits for the handler and resumes; a fatal error, or a
 * failed key check, NAKs the request and puts the QP in the error state; an access
 * violation also raises the QP's WQ_ACCESS_ERROR async event (asyncEvent.ts).
 *
 * Packets: a multi-packet SEND or RDMA WRITE is executed packet by packet as each
 * arrives (the RETH of a WRITE's first packet is checked for the whole message; the
 * SEND's first packet takes the receive WQE), and only the last packet is ACKed; an RDMA
 * READ is answered with path-MTU response packets, each read from memory and sent in
 * turn. A responder access faults as an RDMA responder fault on the whole operation
 * (rdmaPfault.ts), so a fault in the middle of a message maps what the operation has
 * left and delays only the packets not yet executed.
 *
 * RC: a SEND with no receive posted is answered with an RNR NAK, and the packets after it
 * are dropped until the requester resends the message; a duplicate (a message the
 * requester resent after a timeout) gets the last answer again, and a duplicate READ is
 * executed again (as IBA has responders do). UD: a datagram whose
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
import type { RdmaOp } from "../rdmaPfault.ts";
import { raiseWqAccessError } from "./asyncEvent.ts";
import { qpDma, remoteKeyOk, scatterSgl } from "./keyAccess.ts";
import type { Mlx5Qp } from "./mlx5Qp.ts";
import {
  endsMessage,
  pathMtuOf,
  segments,
  startsMessage,
  type AckSyndrome,
  type Packet,
  type PacketBody,
  type Reth,
} from "./packet.ts";

/** The Global Route Header that precedes a UD payload in the receive buffer. */
export const GRH_BYTES = 40;

interface Answer {
  readonly syndrome: AckSyndrome;
  readonly data?: Uint8Array;
  /** The request was consumed (the next PSN is expected); false for an RNR NAK. */
  readonly done: boolean;
}

/** The multi-packet message the responder is in the middle of, if any. */
interface InProgress {
  /** A SEND: the receive WQE it lands in and the bytes placed so far. */
  send: { readonly wr: IbRecvWr; placed: number } | null;
  /** An RDMA WRITE: its RETH and the bytes written so far. */
  write: { readonly reth: Reth; written: number } | null;
}

export function* qpResponder(qp: Mlx5Qp): KGen {
  const msg: InProgress = { send: null, write: null };
  for (;;) {
    yield* qp.inEvent.waitEvent(() => qp.destroyed || qp.inbound.length > 0);
    if (qp.destroyed) return;
    const pkt = qp.inbound.shift() as Packet;
    if (qp.qpType === "UD") yield* receiveUd(qp, pkt);
    else yield* serveRc(qp, msg, pkt);
  }
}

function* serveRc(qp: Mlx5Qp, msg: InProgress, pkt: Packet): KGen {
  // A QP not ready to receive, or in the error state, sends nothing back.
  if (qp.state !== "RTR" && qp.state !== "RTS") return;
  if (pkt.psn < qp.expectedPsn) {
    yield* duplicate(qp, pkt);
    return;
  }
  // Past a gap: the rest of a message whose earlier packet was RNR NAKed (or NAKed).
  if (pkt.psn > qp.expectedPsn) return;
  if (pkt.body.kind === "read") {
    yield* serveRead(qp, pkt, pkt.body, true);
    return;
  }
  const answer = yield* execute(qp, msg, pkt.body);
  if (qp.destroyed) return;
  // A packet in the middle of a message is not acknowledged on its own.
  if (answer === null) {
    qp.expectedPsn = pkt.psn + 1;
    return;
  }
  const resp = answerPacket(qp, pkt, answer);
  if (answer.done) {
    qp.expectedPsn = pkt.psn + 1;
    qp.lastResponse = resp;
  }
  qp.port.transmit(resp);
  if (answer.syndrome === "rem_access") raiseWqAccessError(qp);
  if (answer.syndrome !== "ack" && answer.syndrome !== "rnr") qp.moveToError();
}

/** A resent packet: the last answer again, or (a READ) the read again. */
function* duplicate(qp: Mlx5Qp, pkt: Packet): KGen {
  if (pkt.body.kind === "read") {
    yield* serveRead(qp, pkt, pkt.body, false);
    return;
  }
  if (qp.lastResponse !== null && qp.lastResponse.psn === pkt.psn) {
    qp.port.transmit(qp.lastResponse);
  }
}

function answerPacket(qp: Mlx5Qp, pkt: Packet, answer: Answer): Packet {
  const body: PacketBody =
    answer.data === undefined
      ? { kind: "ack", syndrome: answer.syndrome }
      : { kind: "ack", syndrome: answer.syndrome, data: answer.data };
  return {
    srcLid: qp.port.lid,
    srcQpn: qp.qpNum,
    dstLid: pkt.srcLid,
    dstQpn: pkt.srcQpn,
    psn: pkt.psn,
    body,
  };
}

/** Executes one request packet; null for a packet that does not end its message. */
function* execute(qp: Mlx5Qp, msg: InProgress, body: PacketBody): KGen<Answer | null> {
  switch (body.kind) {
    case "send":
      return yield* receiveSend(qp, msg, body);
    case "write":
      return yield* rdmaWrite(qp, msg, body);
    case "atomic":
      return yield* atomic(qp, body);
    case "read":
    case "read_resp":
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

/** One packet of an RDMA WRITE: the first checks the RETH's whole range. */
function* rdmaWrite(
  qp: Mlx5Qp,
  msg: InProgress,
  body: Extract<PacketBody, { kind: "write" }>,
): KGen<Answer | null> {
  if (startsMessage(body.pos)) {
    const reth = body.reth;
    if (reth === undefined) return { syndrome: "rem_inv_req", done: true };
    const ok = remoteKeyOk(qp, reth.rkey, reth.va, reth.dmaLength, IB_ACCESS_REMOTE_WRITE);
    if (!ok) return nak();
    msg.write = { reth, written: 0 };
  }
  const w = msg.write;
  const len = body.payload.length;
  if (w === null || w.written + len > w.reth.dmaLength) {
    msg.write = null;
    return { syndrome: "rem_inv_req", done: true };
  }
  if (len > 0) {
    const { rkey, va, dmaLength } = w.reth;
    const op: RdmaOp = { va, length: dmaLength, packetSize: len };
    const ret = yield* qpDma(qp, rkey, va + w.written, body.payload, true, op);
    if (ret !== 0) {
      msg.write = null;
      return nak();
    }
  }
  w.written += len;
  if (!endsMessage(body.pos)) return null;
  msg.write = null;
  return w.written === w.reth.dmaLength ? ack() : { syndrome: "rem_inv_req", done: true };
}

/**
 * An RDMA READ: the response packets, each read from memory then sent. `fresh` is false
 * for a resent request, which is served again without moving the expected PSN.
 */
function* serveRead(
  qp: Mlx5Qp,
  pkt: Packet,
  body: Extract<PacketBody, { kind: "read" }>,
  fresh: boolean,
): KGen {
  if (!remoteKeyOk(qp, body.rkey, body.va, body.length, IB_ACCESS_REMOTE_READ)) {
    nakAndFail(qp, pkt, pkt.psn);
    return;
  }
  const segs = segments(body.length, pathMtuOf(qp));
  for (const [i, seg] of segs.entries()) {
    const data = new Uint8Array(seg.length);
    const op: RdmaOp = { va: body.va, length: body.length, packetSize: seg.length };
    const va = body.va + seg.offset;
    const ret = seg.length === 0 ? 0 : yield* qpDma(qp, body.rkey, va, data, false, op);
    if (qp.destroyed) return;
    if (ret !== 0) {
      nakAndFail(qp, pkt, pkt.psn + i);
      return;
    }
    const resp = { ...answerPacket(qp, pkt, ack()), psn: pkt.psn + i };
    qp.port.transmit({ ...resp, body: { kind: "read_resp", pos: seg.pos, payload: data } });
  }
  if (fresh) qp.expectedPsn = pkt.psn + segs.length;
}

/** A NAK (remote access error) for `psn`, and the QP goes to the error state. */
function nakAndFail(qp: Mlx5Qp, pkt: Packet, psn: number): void {
  qp.port.transmit({ ...answerPacket(qp, pkt, nak()), psn });
  raiseWqAccessError(qp);
  qp.moveToError();
}

/**
 * One packet of a SEND: the first takes the next posted receive (a responder WQE fault
 * may happen here), each lands after the bytes before it, the last completes it.
 */
function* receiveSend(
  qp: Mlx5Qp,
  msg: InProgress,
  body: Extract<PacketBody, { kind: "send" }>,
): KGen<Answer | null> {
  if (startsMessage(body.pos)) {
    const first = qp.rq[0];
    if (first === undefined) return { syndrome: "rnr", done: false };
    qp.rq.shift();
    msg.send = { wr: first, placed: 0 };
  }
  const s = msg.send;
  if (s === null) return { syndrome: "rem_inv_req", done: true };
  const r = yield* scatterSgl(qp, s.wr.sgList, body.payload, s.placed);
  if (r !== "ok") {
    msg.send = null;
    qp.completeRecv(s.wr, r === "len" ? "LOC_LEN_ERR" : "LOC_PROT_ERR", 0, qp.destQpNum);
    return { syndrome: r === "len" ? "rem_inv_req" : "rem_op", done: true };
  }
  s.placed += body.payload.length;
  if (!endsMessage(body.pos)) return null;
  msg.send = null;
  qp.completeRecv(s.wr, "SUCCESS", s.placed, qp.destQpNum);
  return ack();
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
  const op: RdmaOp = { va: body.va, length: 8, packetSize: 8 };
  const old = new Uint8Array(8);
  let ret = yield* qpDma(qp, body.rkey, body.va, old, false, op);
  if (ret === 0) {
    const view = new DataView(old.buffer);
    const orig = view.getBigUint64(0);
    const add = body.op === "fetch_add";
    if (add || orig === body.compareAdd) {
      const next = add ? BigInt.asUintN(64, orig + body.compareAdd) : body.swap;
      const out = new Uint8Array(8);
      new DataView(out.buffer).setBigUint64(0, next);
      ret = yield* qpDma(qp, body.rkey, body.va, out, true, op);
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
