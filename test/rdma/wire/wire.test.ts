import assert from "node:assert/strict";
import { test } from "node:test";
import { Kernel } from "../../../src/sim/kernel.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../src/sim/task.ts";
import { classicMlx5Odp } from "../../../src/rdma/mlx5/odp/classicOdp.ts";
import { mlx5PortOf, type Mlx5Port } from "../../../src/rdma/mlx5/qp/mlx5Port.ts";
import type { Packet } from "../../../src/rdma/mlx5/qp/packet.ts";
import { createFabric, type RdmaHost } from "../../../src/rdma/wire/rdmaHost.ts";

function port(h: RdmaHost | undefined): Mlx5Port {
  const p = h === undefined ? null : mlx5PortOf(h.dev);
  assert.ok(p);
  return p;
}

function fabric() {
  const k = new Kernel({ strategy: new FirstRunnable() });
  const f = createFabric(k, ["a", "b", "c"], { design: classicMlx5Odp, frames: 64 });
  return { k, ...f };
}

function pkt(dstLid: number, psn: number, bytes: number): Packet {
  return {
    srcLid: 1,
    srcQpn: 1,
    dstLid,
    dstQpn: 0x100,
    psn,
    body: { kind: "send", pos: "only", payload: new Uint8Array(bytes) },
  };
}

test("hosts get LIDs 1..n, each with its own memory and device", () => {
  const { hosts } = fabric();
  assert.deepEqual(
    hosts.map((h) => h.lid),
    [1, 2, 3],
  );
  assert.notEqual(hosts[0]?.phys, hosts[1]?.phys);
  assert.equal(hosts[2]?.dev.name, "c/mlx5_0");
});

test("a packet arrives after serialization (per byte) plus one hop; packets stay in order", () => {
  const { k, wire, hosts } = fabric();
  const a = port(hosts[0]);
  const b = port(hosts[1]);
  const arrivals: [number, number][] = [];
  b.receive = (p: Packet) => {
    arrivals.push([p.psn, k.clock.now()]);
  };
  k.spawn("tx", { kind: "host", name: "t" }, function* (): KGen {
    wire.transmit(a, pkt(2, 0, 10_000));
    wire.transmit(a, pkt(2, 1, 0));
    yield "sent";
  });
  k.run();
  const cost = port(hosts[0]).dev.cost;
  const first = cost.wirePerByteNs * (10_000 + 40) + cost.wireHopNs;
  const second = cost.wirePerByteNs * (10_000 + 80) + cost.wireHopNs;
  assert.deepEqual(
    arrivals.map(([psn]) => psn),
    [0, 1],
  );
  assert.ok(Math.abs((arrivals[0]?.[1] ?? 0) - first) < 1e-6);
  assert.ok(Math.abs((arrivals[1]?.[1] ?? 0) - second) < 1e-6);
});

test("a packet for an unknown LID is dropped and counted", () => {
  const { k, wire, hosts } = fabric();
  const a = port(hosts[0]);
  k.spawn("tx", { kind: "host", name: "t" }, function* (): KGen {
    wire.transmit(a, pkt(9, 0, 1));
    yield "sent";
  });
  k.run();
  assert.equal(a.stats.packetsDropped, 1);
  assert.equal(wire.packets, 0);
});
