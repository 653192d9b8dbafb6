/**
 * The wire: a switch-less fabric joining the ports of several hosts' devices, with a
 * virtual-time cost per hop and per byte and reliable, in-order delivery.
 *
 * Models no kernel file: it stands in for the cables and switch between HCAs. Each
 * attached port gets a LID (1, 2, ...). A packet leaves its port once the port has
 * finished serializing the packets before it (wirePerByteNs per byte, the link rate),
 * then takes wireHopNs to arrive; arrivals are timers on the virtual clock, so packets
 * from one port arrive in the order sent and nothing is lost (no packet loss, no
 * retransmission needed). The costs are the sending device's cost model.
 */
import type { Kernel } from "../../sim/kernel.ts";
import type { Mlx5IbDev } from "../mlx5/mlx5IbDev.ts";
import { mlx5PortOf, type Mlx5Port, type PortLink } from "../mlx5/qp/mlx5Port.ts";
import { packetBytes, type Packet } from "../mlx5/qp/packet.ts";

export class Wire implements PortLink {
  private readonly ports: Mlx5Port[] = [];
  /** When each port's transmitter is free again (virtual ns), by LID. */
  private readonly busyUntil = new Map<number, number>();
  /** Packets and payload bytes carried, for reports. */
  packets = 0;
  bytes = 0;

  constructor(readonly k: Kernel) {}

  /** Plugs a device's port into the wire; returns the LID it was given. */
  attach(dev: Mlx5IbDev): number {
    const port = mlx5PortOf(dev);
    if (port === null) throw new Error(`${dev.name} has no mlx5 driver registered`);
    if (port.link !== null) throw new Error(`${dev.name} is already attached`);
    this.ports.push(port);
    port.lid = this.ports.length;
    port.link = this;
    return port.lid;
  }

  transmit(from: Mlx5Port, pkt: Packet): void {
    const to = this.ports[pkt.dstLid - 1];
    if (to === undefined) {
      from.stats.packetsDropped++;
      return;
    }
    const k = this.k;
    const cost = from.dev.cost;
    const bytes = packetBytes(pkt);
    const now = k.clock.now();
    const start = Math.max(now, this.busyUntil.get(from.lid) ?? 0);
    const sent = start + cost.wirePerByteNs * bytes;
    this.busyUntil.set(from.lid, sent);
    const arrival = sent + cost.wireHopNs;
    this.packets++;
    this.bytes += bytes;
    k.event("wire_tx", { from: from.lid, to: to.lid, kind: pkt.body.kind, psn: pkt.psn, bytes });
    k.clock.arm(arrival - now, () => {
      to.receive(pkt);
    });
  }
}
