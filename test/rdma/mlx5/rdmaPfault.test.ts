/**
 * mlx5_ib_mr_rdma_pfault_handler: an RDMA responder fault maps the rest of the
 * operation at once (so the later pages of a large WRITE need no fault of their own, and
 * nothing past the operation is mapped); when the hardware reports no operation length
 * the handler maps the packet, resumes, and then prefetches at most 4 MiB.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { odpHost } from "../../../src/check/catalog/scenarios/odpHost.ts";
import { cpuWrite } from "../../../src/mm/access.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, vmMmap } from "../../../src/mm/mmap.ts";
import { PAGE_SIZE } from "../../../src/mm/page.ts";
import {
  connectRc,
  openSide,
  sideAddress,
  VerbsError,
} from "../../../src/programs/verbsResources.ts";
import { createWorld, runWorld, totalPageFaults, type World } from "../../../src/programs/world.ts";
import { ibvWaitCompletions } from "../../../src/rdma/core/ibCq.ts";
import { IB_SEND_SIGNALED, ibvPostSend } from "../../../src/rdma/core/ibQp.ts";
import {
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IB_ACCESS_REMOTE_WRITE,
} from "../../../src/rdma/core/ibVerbs.ts";
import { ibvAllocPd, ibvOpenDevice, ibvRegMr } from "../../../src/rdma/core/verbs.ts";
import type { Mlx5Mkey } from "../../../src/rdma/mlx5/mkey.ts";
import { MAX_PREFETCH_LEN, mlx5IbMrRdmaPfaultHandler } from "../../../src/rdma/mlx5/rdmaPfault.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../src/sim/task.ts";

function must<T>(v: T | VerbsError): T {
  if (v instanceof VerbsError) throw new Error(v.toString());
  return v;
}

/** The page indices of `mkey` that have a translation. */
function mappedPages(mkey: Mlx5Mkey | undefined, npages: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < npages; i++) if ((mkey?.mtt?.get(i) ?? 0) !== 0) out.push(i);
  return out;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

test("one responder fault on a large RDMA WRITE maps the rest of the message, and no more", () => {
  const mrPages = 32;
  const [off, len] = [4, 16];
  const w = createWorld();
  const [sh, ch] = w.hosts as [World["hosts"][0], World["hosts"][0]];
  const sproc = sh.spawnProcess();
  const cproc = ch.spawnProcess();
  const access = IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_WRITE;
  cproc.spawnThread("test", function* (): KGen {
    const size = mrPages * PAGE_SIZE;
    const mrAccess = access | IB_ACCESS_ON_DEMAND;
    const server = must(yield* openSide(sh, sproc, { qpType: "RC", size, mrAccess }));
    const client = must(yield* openSide(ch, cproc, { qpType: "RC", size, mrAccess: access }));
    must(yield* connectRc(server, sideAddress(client), IB_ACCESS_REMOTE_WRITE));
    must(yield* connectRc(client, sideAddress(server), IB_ACCESS_REMOTE_WRITE));
    assert.ok((yield* cpuWrite(client.mm, client.buf, new Uint8Array(len * PAGE_SIZE).fill(9))).ok);
    const faultsBefore = totalPageFaults(w);
    const ret = ibvPostSend(client.qp, {
      wrId: 1,
      opcode: "RDMA_WRITE",
      sendFlags: IB_SEND_SIGNALED,
      sgList: [{ addr: client.buf, length: len * PAGE_SIZE, lkey: client.mr.lkey }],
      remoteAddr: server.buf + off * PAGE_SIZE,
      rkey: server.mr.rkey,
    });
    assert.equal(ret, 0);
    const [wc] = yield* ibvWaitCompletions(client.cq, 1);
    assert.equal(wc?.status, "SUCCESS");
    assert.equal(totalPageFaults(w) - faultsBefore, 1, "one fault for 16 pages (64 packets)");
    const mkey = sh.dev.mkeys.get(server.mr.rkey);
    assert.deepEqual(mappedPages(mkey, mrPages), range(off, off + len));
  });
  runWorld(w);
});

test("a fault with no operation length maps the packet, resumes, then prefetches at most 4 MiB", () => {
  const h = odpHost({ seed: 0, strategy: new FirstRunnable(), design: "classic" }, 4096);
  const maxPages = MAX_PREFETCH_LEN / PAGE_SIZE;
  // The hardware had committed more than 4 MiB of the operation when it faulted.
  const committedPages = maxPages + 2;
  const mrPages = committedPages + maxPages + 4;
  h.proc.spawnThread("t", function* (): KGen {
    const mm = h.proc.mm;
    assert.ok(mm);
    const len = mrPages * PAGE_SIZE;
    const addr = yield* vmMmap(mm, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    const ctx = yield* ibvOpenDevice(h.dev, mm, h.proc.pid);
    assert.ok(typeof ctx !== "number");
    const pd = ibvAllocPd(ctx);
    assert.ok(typeof pd !== "number");
    const access = IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_WRITE;
    const mr = yield* ibvRegMr(pd, addr, len, access);
    assert.ok(typeof mr !== "number");
    const mkey = h.dev.mkeys.get(mr.rkey);
    let atResume: number[] = [];
    let resumed = 0;
    const pf = {
      rkey: mr.rkey,
      rdmaVa: addr,
      rdmaOpLen: 0,
      bytesCommitted: committedPages * PAGE_SIZE,
      packetSize: 1024,
      write: true,
    };
    yield* mlx5IbMrRdmaPfaultHandler(h.dev, h.design, pf, (ret) => {
      resumed = ret;
      atResume = mappedPages(mkey, mrPages);
    });
    assert.ok(resumed >= 1);
    assert.deepEqual(atResume, [committedPages], "only the packet's page before the resume");
    assert.deepEqual(
      mappedPages(mkey, mrPages),
      range(committedPages, committedPages + maxPages),
      "4 MiB from the faulting address after it, not the committed length",
    );
  });
  const r = h.k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations));
});

test("a fault with no operation length early in a message prefetches only the committed bytes", () => {
  const h = odpHost({ seed: 0, strategy: new FirstRunnable(), design: "classic" });
  const mrPages = 16;
  h.proc.spawnThread("t", function* (): KGen {
    const mm = h.proc.mm;
    assert.ok(mm);
    const len = mrPages * PAGE_SIZE;
    const addr = yield* vmMmap(mm, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    const ctx = yield* ibvOpenDevice(h.dev, mm, h.proc.pid);
    assert.ok(typeof ctx !== "number");
    const pd = ibvAllocPd(ctx);
    assert.ok(typeof pd !== "number");
    const mr = yield* ibvRegMr(pd, addr, len, IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE);
    assert.ok(typeof mr !== "number");
    const pf = {
      rkey: mr.rkey,
      rdmaVa: addr,
      rdmaOpLen: 0,
      bytesCommitted: 3 * PAGE_SIZE,
      packetSize: 512,
      write: true,
    };
    yield* mlx5IbMrRdmaPfaultHandler(h.dev, h.design, pf, () => undefined);
    assert.deepEqual(mappedPages(h.dev.mkeys.get(mr.rkey), mrPages), [3, 4, 5]);
  });
  const r = h.k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations));
});

test("a responder fault that maps fewer pages than the rest of the operation fails it (the QP errors)", () => {
  // mlx5_ib_mr_rdma_pfault_handler: ret >= 0 but pages_in_range(address, length) > ret
  // resumes with an error. A design that maps one page of a 4-page WRITE shows it.
  for (const [mapped, expectOk] of [
    [1, false],
    [4, true],
  ] as const) {
    const h = odpHost({ seed: 0, strategy: new FirstRunnable(), design: "classic" });
    const short: typeof h.design = {
      ...h.design,
      *pagefaultSingleDataSegment(dev, pd, key, va, bcnt, flags) {
        const ret = yield* h.design.pagefaultSingleDataSegment(dev, pd, key, va, bcnt, flags);
        return ret < 0 ? ret : Math.min(ret, mapped);
      },
    };
    const seen: { resumed: number | null } = { resumed: null };
    h.proc.spawnThread("t", function* (): KGen {
      const mm = h.proc.mm;
      assert.ok(mm);
      const len = 8 * PAGE_SIZE;
      const addr = yield* vmMmap(mm, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      const ctx = yield* ibvOpenDevice(h.dev, mm, h.proc.pid);
      assert.ok(typeof ctx !== "number");
      const pd = ibvAllocPd(ctx);
      assert.ok(typeof pd !== "number");
      const access = IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_WRITE;
      const mr = yield* ibvRegMr(pd, addr, len, access);
      assert.ok(typeof mr !== "number");
      const pf = {
        rkey: mr.rkey,
        rdmaVa: addr,
        rdmaOpLen: 4 * PAGE_SIZE,
        bytesCommitted: 0,
        packetSize: 1024,
        write: true,
      };
      yield* mlx5IbMrRdmaPfaultHandler(h.dev, short, pf, (ret) => {
        seen.resumed = ret;
      });
    });
    assert.equal(h.k.run().status, "ok");
    const { resumed } = seen;
    assert.ok(resumed !== null, "resumed");
    assert.equal(
      resumed >= 0,
      expectOk,
      `mapped ${String(mapped)}: resumed with ${String(resumed)}`,
    );
  }
});
