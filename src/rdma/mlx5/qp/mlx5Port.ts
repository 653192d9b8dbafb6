/**
 * The device's port: its LID, the QP number table packets are delivered through, the
 * link to the wire, and per-device traffic counters.
 *
 * Models the parts of an mlx5 HCA port (and of the QP table in
 * drivers/net/ethernet/mellanox/mlx5/core/qp.c) the transport needs: the hardware looks
 * an incoming packet's destination QP up by number; sends leave through the port's
 * link. The link is whatever joins hosts (src/rdma/wire); a port without one drops what
 * it sends, like a port whose cable is out.
 *
 * The port also carries the DMA path every QP uses: the design's page-fault handler
 * wrapped to count the faults its QPs raise (the figure rc_pingpong reports).
 */
import { Mutex } from "../../../sim/sync/mutex.ts";
import type { Mlx5IbDev } from "../mlx5IbDev.ts";
import type { Mlx5OdpDesign } from "../odp/mlx5OdpDesign.ts";
import type { Mlx5Qp } from "./mlx5Qp.ts";
import type { Packet } from "./packet.ts";

/** What a port sends through: the wire, in src/rdma/wire. */
export interface PortLink {
  transmit(from: Mlx5Port, pkt: Packet): void;
}

export interface PortStats {
  /** Page faults raised by this device's QPs (WQE and RDMA responder faults). */
  pageFaults: number;
  packetsSent: number;
  packetsDropped: number;
}

/** The first QP number handed out (mlx5 reserves the low ones). */
const FIRST_QPN = 0x100;

export class Mlx5Port {
  lid = 0;
  link: PortLink | null = null;
  readonly qps = new Map<number, Mlx5Qp>();
  readonly stats: PortStats = { pageFaults: 0, packetsSent: 0, packetsDropped: 0 };
  /** The HCA's atomic unit: one read-modify-write at a time per device. */
  readonly atomicLock: Mutex;
  /** The design, with page faults counted: what QPs hand to mlx5DeviceDma. */
  readonly dmaDesign: Mlx5OdpDesign;
  private nextQpn = FIRST_QPN;

  constructor(
    readonly dev: Mlx5IbDev,
    readonly design: Mlx5OdpDesign,
  ) {
    this.atomicLock = new Mutex(dev.k, `atomic_unit(${dev.name})`, "mlx5_atomic_unit");
    const stats = this.stats;
    const counting = Object.create(design) as Mlx5OdpDesign;
    counting.pagefaultSingleDataSegment = (d, pd, key, va, bcnt, flags, bytesMapped) => {
      stats.pageFaults++;
      return design.pagefaultSingleDataSegment(d, pd, key, va, bcnt, flags, bytesMapped);
    };
    this.dmaDesign = counting;
  }

  allocQpn(): number {
    return this.nextQpn++;
  }

  /** The hardware puts `pkt` on the link. */
  transmit(pkt: Packet): void {
    this.stats.packetsSent++;
    if (this.link === null) {
      this.stats.packetsDropped++;
      return;
    }
    this.link.transmit(this, pkt);
  }

  /** A packet arrived from the link: hand it to its QP, or drop it. */
  receive(pkt: Packet): void {
    const qp = this.qps.get(pkt.dstQpn);
    if (qp === undefined) {
      this.stats.packetsDropped++;
      return;
    }
    qp.deliver(pkt);
  }
}

/** The port of an mlx5 device (the driver keeps it with its ops), or null. */
export function mlx5PortOf(dev: Mlx5IbDev): Mlx5Port | null {
  const ops = dev.ops as { readonly mlx5Port?: Mlx5Port } | null;
  return ops?.mlx5Port ?? null;
}
