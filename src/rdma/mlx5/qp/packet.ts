/**
 * What travels between ports: InfiniBand transport packets.
 *
 * Models the IBA transport headers the RC and UD services use (BTH opcodes SEND
 * first / middle / last / only, RDMA WRITE first / middle / last / only with the RETH in
 * the first, RDMA READ request and READ response first / middle / last / only, ATOMIC
 * with its AtomicETH, ACK / NAK with the AETH syndrome, and the UD DETH with its Q_Key).
 * An RC message longer than the path MTU is cut into MTU-sized packets, each with its
 * own PSN (a READ request takes one PSN per response packet), so each packet pays the
 * wire's per-packet header and its own serialization. The path MTU is the smaller of the
 * QP's path_mtu and the port's active MTU (the cost model's `mtu`).
 */
import type { Mlx5Qp } from "./mlx5Qp.ts";

/** AETH syndromes: ACK, RNR NAK, and the NAK codes the responder sends. */
export type AckSyndrome = "ack" | "rnr" | "rem_access" | "rem_inv_req" | "rem_op";

/** Where a packet sits in its message: the BTH opcode's FIRST, MIDDLE, LAST or ONLY. */
export type PacketPos = "first" | "middle" | "last" | "only";

/** The RDMA extended transport header: target key, address and the message's length. */
export interface Reth {
  readonly rkey: number;
  readonly va: number;
  readonly dmaLength: number;
}

export type PacketBody =
  | { readonly kind: "send"; readonly pos: PacketPos; readonly payload: Uint8Array }
  | {
      readonly kind: "write";
      readonly pos: PacketPos;
      /** Present on the first (or only) packet of the message. */
      readonly reth?: Reth;
      readonly payload: Uint8Array;
    }
  | { readonly kind: "read"; readonly rkey: number; readonly va: number; readonly length: number }
  | { readonly kind: "read_resp"; readonly pos: PacketPos; readonly payload: Uint8Array }
  | {
      readonly kind: "atomic";
      readonly op: "cmp_swp" | "fetch_add";
      readonly rkey: number;
      readonly va: number;
      readonly compareAdd: bigint;
      readonly swap: bigint;
    }
  | { readonly kind: "ack"; readonly syndrome: AckSyndrome; readonly data?: Uint8Array }
  | { readonly kind: "ud_send"; readonly qkey: number; readonly payload: Uint8Array };

export interface Packet {
  readonly srcLid: number;
  readonly srcQpn: number;
  readonly dstLid: number;
  readonly dstQpn: number;
  /** The packet's PSN; a response carries the PSN it answers. */
  readonly psn: number;
  readonly body: PacketBody;
}

/** Header bytes of a packet on the wire (LRH + BTH + extended headers + ICRC, rounded). */
export const PACKET_HEADER_BYTES = 40;

/** Bytes the packet puts on the wire. */
export function packetBytes(pkt: Packet): number {
  const b = pkt.body;
  switch (b.kind) {
    case "send":
    case "write":
    case "read_resp":
    case "ud_send":
      return PACKET_HEADER_BYTES + b.payload.length;
    case "ack":
      return PACKET_HEADER_BYTES + (b.data?.length ?? 0);
    case "read":
    case "atomic":
      return PACKET_HEADER_BYTES;
  }
}

/** The path MTU the QP's packets use: its path_mtu, capped by the port's active MTU. */
export function pathMtuOf(qp: Mlx5Qp): number {
  return Math.min(qp.pathMtu, qp.port.dev.cost.mtu);
}

/** Packets a message of `length` bytes takes (an empty message still takes one). */
export function packetCount(length: number, mtu: number): number {
  return Math.max(1, Math.ceil(length / mtu));
}

/** One MTU-sized piece of a message and where it sits. */
export interface Segment {
  readonly pos: PacketPos;
  readonly offset: number;
  readonly length: number;
}

/** The MTU-sized pieces of a message of `length` bytes, in order. */
export function segments(length: number, mtu: number): Segment[] {
  const n = packetCount(length, mtu);
  const out: Segment[] = [];
  for (let i = 0; i < n; i++) {
    const pos: PacketPos = n === 1 ? "only" : i === 0 ? "first" : i === n - 1 ? "last" : "middle";
    const offset = i * mtu;
    out.push({ pos, offset, length: Math.min(mtu, length - offset) });
  }
  return out;
}

/** Whether the packet ends its message (LAST or ONLY). */
export function endsMessage(pos: PacketPos): boolean {
  return pos === "last" || pos === "only";
}

/** Whether the packet starts its message (FIRST or ONLY). */
export function startsMessage(pos: PacketPos): boolean {
  return pos === "first" || pos === "only";
}
