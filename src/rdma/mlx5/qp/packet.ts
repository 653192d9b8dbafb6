/**
 * What travels between ports: InfiniBand transport packets, one per message.
 *
 * Models the IBA transport headers the RC and UD services use (BTH opcodes SEND,
 * RDMA WRITE, RDMA READ request / response, ATOMIC with its AtomicETH, ACK / NAK with
 * the AETH syndrome, and the UD DETH with its Q_Key). Simplification: a message is one
 * packet whatever its length (no MTU segmentation), so the per-hop cost is charged once
 * per message and the per-byte cost for its whole payload.
 */

/** AETH syndromes: ACK, RNR NAK, and the NAK codes the responder sends. */
export type AckSyndrome = "ack" | "rnr" | "rem_access" | "rem_inv_req" | "rem_op";

export type PacketBody =
  | { readonly kind: "send"; readonly payload: Uint8Array }
  | {
      readonly kind: "write";
      readonly rkey: number;
      readonly va: number;
      readonly payload: Uint8Array;
    }
  | { readonly kind: "read"; readonly rkey: number; readonly va: number; readonly length: number }
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
  /** The request's PSN; a response carries the PSN it answers. */
  readonly psn: number;
  readonly body: PacketBody;
}

/** Header bytes of a packet on the wire (LRH + BTH + extended headers + ICRC, rounded). */
export const PACKET_HEADER_BYTES = 40;

/** Bytes the packet puts on the wire. */
export function packetBytes(pkt: Packet): number {
  const b = pkt.body;
  const payload =
    b.kind === "send" || b.kind === "write" || b.kind === "ud_send"
      ? b.payload.length
      : b.kind === "ack"
        ? (b.data?.length ?? 0)
        : 0;
  return PACKET_HEADER_BYTES + payload;
}
