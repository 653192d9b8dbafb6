import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuRead, cpuWrite } from "../../../../src/mm/access.ts";
import { PAGE_SIZE } from "../../../../src/mm/page.ts";
import {
  connectRc,
  connectUd,
  openSide,
  sideAddress,
  VerbsError,
  type Side,
} from "../../../../src/programs/verbsResources.ts";
import {
  createWorld,
  runWorld,
  totalPageFaults,
  type World,
} from "../../../../src/programs/world.ts";
import { ibvWaitCompletions, type IbWc } from "../../../../src/rdma/core/ibCq.ts";
import {
  IB_SEND_SIGNALED,
  ibvDestroyQp,
  ibvPostRecv,
  ibvPostSend,
  type IbQpType,
} from "../../../../src/rdma/core/ibQp.ts";
import {
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IB_ACCESS_REMOTE_ATOMIC,
  IB_ACCESS_REMOTE_READ,
  IB_ACCESS_REMOTE_WRITE,
} from "../../../../src/rdma/core/ibVerbs.ts";
import { ibvDeregMr } from "../../../../src/rdma/core/verbs.ts";
import type { KGen } from "../../../../src/sim/task.ts";

const REMOTE = IB_ACCESS_REMOTE_WRITE | IB_ACCESS_REMOTE_READ | IB_ACCESS_REMOTE_ATOMIC;
const RW = IB_ACCESS_LOCAL_WRITE | REMOTE;

function must<T>(v: T | VerbsError): T {
  if (v instanceof VerbsError) throw new Error(v.toString());
  if (typeof v === "number" && v < 0) throw new Error(`errno ${v}`);
  return v;
}

/** Runs `body` in a test thread with two connected sides (server on host 0). */
function withPair(
  o: { qpType?: IbQpType; odp: [boolean, boolean]; size?: number },
  body: (w: World, server: Side, client: Side) => KGen,
): World {
  const w = createWorld();
  const [sh, ch] = w.hosts as [World["hosts"][0], World["hosts"][0]];
  const sproc = sh.spawnProcess();
  const cproc = ch.spawnProcess();
  cproc.spawnThread("test", function* (): KGen {
    const qpType = o.qpType ?? "RC";
    const size = o.size ?? 2 * PAGE_SIZE;
    const access = (odp: boolean) => RW | (odp ? IB_ACCESS_ON_DEMAND : 0);
    const server = must(yield* openSide(sh, sproc, { qpType, size, mrAccess: access(o.odp[0]) }));
    const client = must(yield* openSide(ch, cproc, { qpType, size, mrAccess: access(o.odp[1]) }));
    if (qpType === "RC") {
      must(yield* connectRc(server, sideAddress(client), REMOTE));
      must(yield* connectRc(client, sideAddress(server), REMOTE));
    } else {
      must(yield* connectUd(server, 0x11111111));
      must(yield* connectUd(client, 0x11111111));
    }
    yield* body(w, server, client);
  });
  runWorld(w);
  return w;
}

function* fill(side: Side, byte: number, len = side.size): KGen {
  const r = yield* cpuWrite(side.mm, side.buf, new Uint8Array(len).fill(byte));
  assert.ok(r.ok);
}

function* read(side: Side, off: number, len: number): KGen<Uint8Array> {
  const r = yield* cpuRead(side.mm, side.buf + off, len);
  assert.ok(r.ok);
  return r.data;
}

function* one(side: Side): KGen<IbWc> {
  const [wc] = yield* ibvWaitCompletions(side.cq, 1);
  assert.ok(wc);
  return wc;
}

for (const odp of [false, true]) {
  const kind = odp ? "ODP" : "pinned";
  test(`RC send/recv between ${kind} MRs moves the bytes and completes both sides`, () => {
    const w = withPair({ odp: [odp, odp] }, function* (_w, server, client) {
      yield* fill(server, 0);
      yield* fill(client, 0xab, 100);
      assert.equal(
        ibvPostRecv(server.qp, {
          wrId: 7,
          sgList: [{ addr: server.buf, length: server.size, lkey: server.mr.lkey }],
        }),
        0,
      );
      assert.equal(
        ibvPostSend(client.qp, {
          wrId: 9,
          opcode: "SEND",
          sendFlags: IB_SEND_SIGNALED,
          sgList: [{ addr: client.buf, length: 100, lkey: client.mr.lkey }],
        }),
        0,
      );
      const s = yield* one(client);
      assert.deepEqual([s.wrId, s.status, s.opcode], [9, "SUCCESS", "SEND"]);
      const r = yield* one(server);
      assert.deepEqual([r.wrId, r.status, r.opcode, r.byteLen], [7, "SUCCESS", "RECV", 100]);
      assert.equal(r.srcQp, client.qp.qpNum);
      const got = yield* read(server, 0, 101);
      assert.deepEqual([got[0], got[99], got[100]], [0xab, 0xab, 0]);
    });
    if (odp) assert.ok(totalPageFaults(w) > 0, "ODP traffic faulted");
    else assert.equal(totalPageFaults(w), 0, "pinned traffic never faults");
  });

  test(`RDMA WRITE then RDMA READ on ${kind} MRs`, () => {
    withPair({ odp: [odp, odp] }, function* (_w, server, client) {
      yield* fill(server, 0);
      yield* fill(client, 0x5a, PAGE_SIZE);
      const off = PAGE_SIZE - 16; // crosses a page boundary on the server
      ibvPostSend(client.qp, {
        wrId: 1,
        opcode: "RDMA_WRITE",
        sendFlags: IB_SEND_SIGNALED,
        sgList: [{ addr: client.buf, length: 64, lkey: client.mr.lkey }],
        remoteAddr: server.buf + off,
        rkey: server.mr.rkey,
      });
      assert.equal((yield* one(client)).status, "SUCCESS");
      const got = yield* read(server, off - 1, 66);
      assert.deepEqual([got[0], got[1], got[64], got[65]], [0, 0x5a, 0x5a, 0]);
      yield* fill(server, 0x33, 32);
      ibvPostSend(client.qp, {
        wrId: 2,
        opcode: "RDMA_READ",
        sendFlags: IB_SEND_SIGNALED,
        sgList: [{ addr: client.buf + PAGE_SIZE, length: 32, lkey: client.mr.lkey }],
        remoteAddr: server.buf,
        rkey: server.mr.rkey,
      });
      const wc = yield* one(client);
      assert.deepEqual([wc.status, wc.opcode, wc.byteLen], ["SUCCESS", "RDMA_READ", 32]);
      const back = yield* read(client, PAGE_SIZE, 33);
      assert.deepEqual([back[0], back[31], back[32]], [0x33, 0x33, 0]);
    });
  });
}

test("atomics: compare-and-swap swaps only on a match; fetch-and-add returns the old value", () => {
  withPair({ odp: [true, false] }, function* (_w, server, client) {
    yield* fill(server, 0);
    const v = new Uint8Array(8);
    new DataView(v.buffer).setBigUint64(0, 5n);
    assert.ok((yield* cpuWrite(server.mm, server.buf, v)).ok);
    const atomic = (
      wrId: number,
      opcode: "ATOMIC_CMP_AND_SWP" | "ATOMIC_FETCH_AND_ADD",
      a: bigint,
      b = 0n,
    ) =>
      ibvPostSend(client.qp, {
        wrId,
        opcode,
        sendFlags: IB_SEND_SIGNALED,
        sgList: [{ addr: client.buf + 8 * wrId, length: 8, lkey: client.mr.lkey }],
        remoteAddr: server.buf,
        rkey: server.mr.rkey,
        compareAdd: a,
        swap: b,
      });
    const value = function* (side: Side, off: number): KGen<bigint> {
      const d = yield* read(side, off, 8);
      return new DataView(d.buffer, d.byteOffset).getBigUint64(0);
    };
    atomic(1, "ATOMIC_CMP_AND_SWP", 4n, 9n); // no match
    assert.equal((yield* one(client)).status, "SUCCESS");
    assert.equal(yield* value(server, 0), 5n);
    assert.equal(yield* value(client, 8), 5n);
    atomic(2, "ATOMIC_CMP_AND_SWP", 5n, 9n); // match
    assert.equal((yield* one(client)).opcode, "COMP_SWAP");
    assert.equal(yield* value(server, 0), 9n);
    atomic(3, "ATOMIC_FETCH_AND_ADD", 3n);
    assert.equal((yield* one(client)).opcode, "FETCH_ADD");
    assert.equal(yield* value(server, 0), 12n);
    assert.equal(yield* value(client, 24), 9n);
  });
});

test("a bad rkey NAKs with REM_ACCESS_ERR, the QP goes to error and later WRs flush", () => {
  withPair({ odp: [true, true] }, function* (_w, server, client) {
    const wr = (wrId: number, rkey: number) => ({
      wrId,
      opcode: "RDMA_WRITE" as const,
      sendFlags: IB_SEND_SIGNALED,
      sgList: [{ addr: client.buf, length: 8, lkey: client.mr.lkey }],
      remoteAddr: server.buf,
      rkey,
    });
    ibvPostSend(client.qp, wr(1, server.mr.rkey + 0x100));
    ibvPostSend(client.qp, wr(2, server.mr.rkey));
    ibvPostRecv(client.qp, { wrId: 3, sgList: [] });
    const wcs = yield* ibvWaitCompletions(client.cq, 3);
    assert.deepEqual(
      wcs.map((c) => [c.wrId, c.status]),
      [
        [1, "REM_ACCESS_ERR"],
        [3, "WR_FLUSH_ERR"],
        [2, "WR_FLUSH_ERR"],
      ],
    );
    assert.equal(client.qp.state, "ERR");
    assert.equal(server.qp.state, "ERR", "the responder of a class C error goes to error too");
  });
});

test("a bad lkey completes the WQE with LOC_PROT_ERR", () => {
  withPair({ odp: [true, true] }, function* (_w, server, client) {
    ibvPostSend(client.qp, {
      wrId: 1,
      opcode: "SEND",
      sgList: [{ addr: client.buf, length: 8, lkey: 0xdead }],
    });
    const wc = yield* one(client);
    assert.deepEqual([wc.wrId, wc.status], [1, "LOC_PROT_ERR"]);
    assert.equal(server.cq.depth, 0, "nothing reached the server");
  });
});

test("a SEND with no receive posted waits out RNR NAKs and lands once one is posted", () => {
  withPair({ odp: [false, false] }, function* (w, server, client) {
    yield* fill(client, 0x42, 8);
    ibvPostSend(client.qp, {
      wrId: 1,
      opcode: "SEND",
      sendFlags: IB_SEND_SIGNALED,
      sgList: [{ addr: client.buf, length: 8, lkey: client.mr.lkey }],
    });
    yield* w.k.sleep(2_000_000);
    assert.equal(client.cq.depth, 0, "still retrying");
    ibvPostRecv(server.qp, {
      wrId: 5,
      sgList: [{ addr: server.buf, length: 64, lkey: server.mr.lkey }],
    });
    assert.equal((yield* one(client)).status, "SUCCESS");
    assert.equal((yield* one(server)).byteLen, 8);
  });
});

test("UD send: the receive gets a 40-byte GRH then the payload; a wrong Q_Key is dropped", () => {
  withPair({ qpType: "UD", odp: [false, true] }, function* (w, server, client) {
    yield* fill(client, 0x77, 16);
    const send = (wrId: number, qkey: number) =>
      ibvPostSend(client.qp, {
        wrId,
        opcode: "SEND",
        sendFlags: IB_SEND_SIGNALED,
        sgList: [{ addr: client.buf, length: 16, lkey: client.mr.lkey }],
        ah: { dlid: server.host.lid },
        remoteQpn: server.qp.qpNum,
        remoteQkey: qkey,
      });
    ibvPostRecv(server.qp, {
      wrId: 1,
      sgList: [{ addr: server.buf, length: 100, lkey: server.mr.lkey }],
    });
    send(1, 0x1234);
    assert.equal((yield* one(client)).status, "SUCCESS");
    yield* w.k.sleep(100_000);
    assert.equal(server.cq.depth, 0, "wrong Q_Key dropped");
    send(2, 0x11111111);
    yield* one(client);
    const r = yield* one(server);
    assert.deepEqual([r.status, r.byteLen, r.srcQp], ["SUCCESS", 56, client.qp.qpNum]);
    const got = yield* read(server, 40, 17);
    assert.deepEqual([got[0], got[15], got[16]], [0x77, 0x77, 0]);
  });
});

test("destroy_qp stops the QP's device tasks; dereg of both MRs leaves nothing mapped", () => {
  const w = withPair({ odp: [true, false] }, function* (_w, server, client) {
    assert.equal(yield* ibvDestroyQp(client.qp), 0);
    assert.equal(yield* ibvDestroyQp(server.qp), 0);
    assert.equal(yield* ibvDeregMr(server.mr), 0);
    assert.equal(yield* ibvDeregMr(client.mr), 0);
  });
  const qpTasks = w.k.allTasks().filter((t) => t.name.startsWith("qp"));
  assert.equal(qpTasks.length, 4);
  assert.ok(qpTasks.every((t) => t.state === "done"));
  assert.ok(w.hosts.every((h) => h.dev.mkeys.size === 0));
});
