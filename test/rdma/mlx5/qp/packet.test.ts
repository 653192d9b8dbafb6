/**
 * MTU segmentation on the wire: RC messages longer than the path MTU travel as
 * first / middle / last packets (SEND, RDMA WRITE, RDMA READ response), each paying its
 * own header and serialization; the path MTU is the QP's path_mtu capped by the port's
 * active MTU (the cost model's `mtu`); a responder fault in the middle of a message
 * delays only the packets not yet executed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuRead, cpuWrite } from "../../../../src/mm/access.ts";
import { PAGE_SIZE } from "../../../../src/mm/page.ts";
import {
  connectRc,
  openSide,
  sideAddress,
  VerbsError,
  type Side,
} from "../../../../src/programs/verbsResources.ts";
import { createWorld, runWorld, type World } from "../../../../src/programs/world.ts";
import { ibvWaitCompletions, type IbWc } from "../../../../src/rdma/core/ibCq.ts";
import { IB_SEND_SIGNALED, ibvPostRecv, ibvPostSend } from "../../../../src/rdma/core/ibQp.ts";
import {
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IB_ACCESS_REMOTE_READ,
  IB_ACCESS_REMOTE_WRITE,
  IB_UVERBS_ADVISE_MR_FLAG_FLUSH,
} from "../../../../src/rdma/core/ibVerbs.ts";
import { ibvAdviseMr } from "../../../../src/rdma/core/verbs.ts";
import type { CostModel } from "../../../../src/rdma/mlx5/costModel.ts";
import { mlx5PortOf, type Mlx5Port } from "../../../../src/rdma/mlx5/qp/mlx5Port.ts";
import {
  PACKET_HEADER_BYTES,
  segments,
  type Packet,
  type PacketPos,
} from "../../../../src/rdma/mlx5/qp/packet.ts";
import type { KGen } from "../../../../src/sim/task.ts";

const REMOTE = IB_ACCESS_REMOTE_WRITE | IB_ACCESS_REMOTE_READ;
const RW = IB_ACCESS_LOCAL_WRITE | REMOTE;
/** The path_mtu connectRc asks for (as ibv_rc_pingpong's default -m 1024). */
const PATH_MTU = 1024;

function must<T>(v: T | VerbsError): T {
  if (v instanceof VerbsError) throw new Error(v.toString());
  return v;
}

interface Seen {
  readonly psn: number;
  readonly kind: string;
  readonly pos: PacketPos | null;
  readonly payload: Uint8Array | null;
  readonly at: number;
}

/** Records what arrives at a port (and when) before handing it on. */
function tap(w: World, port: Mlx5Port): Seen[] {
  const seen: Seen[] = [];
  const receive = port.receive.bind(port);
  port.receive = (p: Packet) => {
    const b = p.body;
    const pos = "pos" in b ? b.pos : null;
    const payload = "payload" in b ? b.payload.slice() : null;
    seen.push({ psn: p.psn, kind: b.kind, pos, payload, at: w.k.clock.now() });
    receive(p);
  };
  return seen;
}

/** Records when a port sends each packet. */
function tapSends(w: World, port: Mlx5Port): number[] {
  const times: number[] = [];
  const transmit = port.transmit.bind(port);
  port.transmit = (p: Packet) => {
    times.push(w.k.clock.now());
    transmit(p);
  };
  return times;
}

function portOf(side: Side): Mlx5Port {
  const p = mlx5PortOf(side.host.dev);
  assert.ok(p);
  return p;
}

/** Two connected RC sides (server on host 0), `size` bytes each. */
function withPair(
  o: { size: number; odp?: boolean; cost?: Partial<CostModel> },
  body: (w: World, server: Side, client: Side) => KGen,
): void {
  const w = createWorld(o.cost === undefined ? {} : { cost: o.cost });
  const [sh, ch] = w.hosts as [World["hosts"][0], World["hosts"][0]];
  const sproc = sh.spawnProcess();
  const cproc = ch.spawnProcess();
  cproc.spawnThread("test", function* (): KGen {
    const access = RW | (o.odp === true ? IB_ACCESS_ON_DEMAND : 0);
    const server = must(
      yield* openSide(sh, sproc, { qpType: "RC", size: o.size, mrAccess: access }),
    );
    const client = must(yield* openSide(ch, cproc, { qpType: "RC", size: o.size, mrAccess: RW }));
    must(yield* connectRc(server, sideAddress(client), REMOTE));
    must(yield* connectRc(client, sideAddress(server), REMOTE));
    yield* body(w, server, client);
  });
  runWorld(w);
}

function pattern(len: number): Uint8Array {
  return Uint8Array.from({ length: len }, (_, i) => (i * 7 + 3) & 0xff);
}

function* one(side: Side): KGen<IbWc> {
  const [wc] = yield* ibvWaitCompletions(side.cq, 1);
  assert.ok(wc);
  return wc;
}

function* rdmaWrite(client: Side, server: Side, len: number, off = 0): KGen<IbWc> {
  const ret = ibvPostSend(client.qp, {
    wrId: 1,
    opcode: "RDMA_WRITE",
    sendFlags: IB_SEND_SIGNALED,
    sgList: [{ addr: client.buf, length: len, lkey: client.mr.lkey }],
    remoteAddr: server.buf + off,
    rkey: server.mr.rkey,
  });
  assert.equal(ret, 0);
  return yield* one(client);
}

test("segments: an empty message is one ONLY packet; 3*MTU+1 is first, middle, middle, last", () => {
  assert.deepEqual(segments(0, 1024), [{ pos: "only", offset: 0, length: 0 }]);
  assert.deepEqual(
    segments(3 * 1024 + 1, 1024).map((s) => [s.pos, s.offset, s.length]),
    [
      ["first", 0, 1024],
      ["middle", 1024, 1024],
      ["middle", 2048, 1024],
      ["last", 3072, 1],
    ],
  );
});

test("a 3*MTU+1 byte RDMA WRITE arrives as 4 packets with the right bytes, each later by its own wire time", () => {
  const len = 3 * PATH_MTU + 1;
  // DMA is free here, so the responder's work does not move the clock past an arrival.
  withPair({ size: PAGE_SIZE, cost: { dmaPerByteNs: 0 } }, function* (w, server, client) {
    const data = pattern(len);
    assert.ok((yield* cpuWrite(client.mm, client.buf, data)).ok);
    const seen = tap(w, portOf(server));
    const sent = tapSends(w, portOf(client));
    const wc = yield* rdmaWrite(client, server, len);
    assert.deepEqual([wc.status, wc.byteLen], ["SUCCESS", len]);

    assert.deepEqual(
      seen.map((s) => [s.kind, s.pos, s.payload?.length]),
      [
        ["write", "first", PATH_MTU],
        ["write", "middle", PATH_MTU],
        ["write", "middle", PATH_MTU],
        ["write", "last", 1],
      ],
    );
    assert.deepEqual(
      seen.map((s) => s.psn),
      [0, 1, 2, 3],
      "one PSN per packet",
    );
    const joined = new Uint8Array(len);
    let off = 0;
    for (const s of seen) {
      joined.set(s.payload ?? new Uint8Array(0), off);
      off += s.payload?.length ?? 0;
    }
    assert.deepEqual(joined, data, "the packets carry the message's bytes in order");
    const landed = yield* cpuRead(server.mm, server.buf, len);
    assert.ok(landed.ok);
    assert.deepEqual(landed.data, data);

    // All four leave together; each arrives after the serialization of itself and of
    // the packets before it (header included), plus one hop.
    const cost = client.host.dev.cost;
    const t0 = sent[0] ?? -1;
    let bytes = 0;
    for (const s of seen) {
      bytes += PACKET_HEADER_BYTES + (s.payload?.length ?? 0);
      assert.ok(Math.abs(s.at - (t0 + cost.wirePerByteNs * bytes + cost.wireHopNs)) < 1e-6);
    }
    for (let i = 1; i < seen.length; i++) {
      assert.ok((seen[i]?.at ?? 0) > (seen[i - 1]?.at ?? 0), "virtual time grows per packet");
    }
  });
});

test("the port's active MTU (cost model) caps the QP's path_mtu", () => {
  withPair({ size: PAGE_SIZE, cost: { mtu: 512 } }, function* (w, server, client) {
    const seen = tap(w, portOf(server));
    const wc = yield* rdmaWrite(client, server, 1500);
    assert.equal(wc.status, "SUCCESS");
    assert.deepEqual(
      seen.map((s) => s.payload?.length),
      [512, 512, 476],
    );
  });
});

test("an RDMA READ of 3*MTU+1 bytes comes back as first / middle / middle / last responses", () => {
  const len = 3 * PATH_MTU + 1;
  withPair({ size: PAGE_SIZE }, function* (w, server, client) {
    const data = pattern(len);
    assert.ok((yield* cpuWrite(server.mm, server.buf, data)).ok);
    const seen = tap(w, portOf(client));
    const ret = ibvPostSend(client.qp, {
      wrId: 2,
      opcode: "RDMA_READ",
      sendFlags: IB_SEND_SIGNALED,
      sgList: [{ addr: client.buf, length: len, lkey: client.mr.lkey }],
      remoteAddr: server.buf,
      rkey: server.mr.rkey,
    });
    assert.equal(ret, 0);
    const wc = yield* one(client);
    assert.deepEqual([wc.status, wc.byteLen], ["SUCCESS", len]);
    assert.deepEqual(
      seen.map((s) => [s.kind, s.pos, s.psn]),
      [
        ["read_resp", "first", 0],
        ["read_resp", "middle", 1],
        ["read_resp", "middle", 2],
        ["read_resp", "last", 3],
      ],
    );
    const got = yield* cpuRead(client.mm, client.buf, len);
    assert.ok(got.ok);
    assert.deepEqual(got.data, data);
    // The next request starts after the PSNs the READ took.
    const next = tap(w, portOf(server));
    assert.equal((yield* rdmaWrite(client, server, 8)).status, "SUCCESS");
    assert.equal(next[0]?.psn, 4);
  });
});

test("a multi-packet SEND fills a receive of several SGEs in order and completes once", () => {
  const len = 2 * PATH_MTU + 500;
  withPair({ size: PAGE_SIZE }, function* (w, server, client) {
    const data = pattern(len);
    assert.ok((yield* cpuWrite(client.mm, client.buf, data)).ok);
    const seen = tap(w, portOf(server));
    const lkey = server.mr.lkey;
    const sgList = [
      { addr: server.buf, length: 1000, lkey },
      { addr: server.buf + 1000, length: PAGE_SIZE - 1000, lkey },
    ];
    assert.equal(ibvPostRecv(server.qp, { wrId: 5, sgList }), 0);
    const s = ibvPostSend(client.qp, {
      wrId: 6,
      opcode: "SEND",
      sendFlags: IB_SEND_SIGNALED,
      sgList: [{ addr: client.buf, length: len, lkey: client.mr.lkey }],
    });
    assert.equal(s, 0);
    assert.equal((yield* one(client)).status, "SUCCESS");
    const r = yield* one(server);
    assert.deepEqual([r.wrId, r.status, r.byteLen], [5, "SUCCESS", len]);
    assert.deepEqual(
      seen.map((x) => [x.kind, x.pos]),
      [
        ["send", "first"],
        ["send", "middle"],
        ["send", "last"],
      ],
    );
    const got = yield* cpuRead(server.mm, server.buf, len);
    assert.ok(got.ok);
    assert.deepEqual(got.data, data);
    const more = yield* ibvWaitCompletions(server.cq, 1, 0);
    assert.equal(more.length, 0, "one receive completion for the whole message");
  });
});

test("a responder fault in the middle of a WRITE maps what is left and delays only the later packets", () => {
  const len = 4 * PAGE_SIZE;
  withPair({ size: 8 * PAGE_SIZE, odp: true }, function* (w, server, client) {
    // The first half of the target is mapped beforehand, the second half is not.
    const half = [{ addr: server.buf, length: 2 * PAGE_SIZE, lkey: server.mr.lkey }];
    const adv = yield* ibvAdviseMr(
      server.pd,
      "PREFETCH_WRITE",
      IB_UVERBS_ADVISE_MR_FLAG_FLUSH,
      half,
    );
    assert.equal(adv, 0);
    const dev = server.host.dev;
    const faults: { va: number; ret: number; at: number }[] = [];
    dev.pageFaultObservers.push((f) => faults.push({ va: f.va, ret: f.ret, at: w.k.clock.now() }));
    const dmas: { va: number; at: number }[] = [];
    dev.dmaObservers.push((a) => dmas.push({ va: a.va, at: w.k.clock.now() }));
    assert.ok((yield* cpuWrite(client.mm, client.buf, pattern(len))).ok);
    const wc = yield* rdmaWrite(client, server, len);
    assert.equal(wc.status, "SUCCESS");

    assert.equal(faults.length, 1, "one fault for the whole message");
    const fault = faults[0];
    assert.ok(fault);
    assert.equal(fault.va, server.buf + 2 * PAGE_SIZE, "at the first unmapped byte");
    assert.equal(fault.ret, 2, "it mapped the two pages the message had left");
    const mkey = dev.mkeys.get(server.mr.rkey);
    assert.ok(mkey?.mtt);
    assert.equal(mkey.mtt.count(), 4);
    const before = dmas.filter((d) => d.va < fault.va);
    const after = dmas.filter((d) => d.va >= fault.va);
    assert.ok(before.length > 0 && after.length > 0);
    assert.ok(
      before.every((d) => d.at < fault.at),
      "earlier packets were written before it",
    );
    assert.ok(
      after.every((d) => d.at >= fault.at),
      "later packets waited for the resume",
    );
    const got = yield* cpuRead(server.mm, server.buf, len);
    assert.ok(got.ok);
    assert.deepEqual(got.data, pattern(len));
  });
});
