import assert from "node:assert/strict";
import { test } from "node:test";
import { odpHost } from "../../../../src/check/catalog/scenarios/odpHost.ts";
import { cpuWrite } from "../../../../src/mm/access.ts";
import { MADV_DONTNEED, doMadvise } from "../../../../src/mm/madvise.ts";
import { migrateRange } from "../../../../src/mm/migrate.ts";
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
  vmMunmap,
} from "../../../../src/mm/mmap.ts";
import type { MmStruct } from "../../../../src/mm/mmStruct.ts";
import { doMprotect } from "../../../../src/mm/mprotect.ts";
import { mmuIntervalSetSeq } from "../../../../src/mm/notifier/mmuIntervalNotifier.ts";
import { PAGE_SIZE } from "../../../../src/mm/page.ts";
import { walkPte } from "../../../../src/mm/pageTable.ts";
import { exitMm, forkProcess } from "../../../../src/mm/process.ts";
import { intervalDesign } from "../../../../src/rdma/core/odp/intervalDesign.ts";
import {
  IntervalUmemOdp,
  ibUmemOdpMapDmaAndLock,
  intervalUnmapDmaPages,
} from "../../../../src/rdma/core/odp/intervalUmemOdp.ts";
import type { UmemOdpDriverOps } from "../../../../src/rdma/core/odp/umemOdpDesign.ts";
import {
  IB_ACCESS_HUGETLB,
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
} from "../../../../src/rdma/core/ibVerbs.ts";
import type { IbUcontext } from "../../../../src/rdma/core/ucontext.ts";
import { ODP_READ_ALLOWED_BIT, ODP_WRITE_ALLOWED_BIT } from "../../../../src/rdma/core/umemOdp.ts";
import { ibvOpenDevice } from "../../../../src/rdma/core/verbs.ts";
import { EFAULT, EINVAL, EOVERFLOW } from "../../../../src/sim/errno.ts";
import { FirstRunnable } from "../../../../src/sim/strategies/firstRunnable.ts";
import { UniformRandom } from "../../../../src/sim/strategies/uniformRandom.ts";
import type { Strategy } from "../../../../src/sim/strategy.ts";
import type { KGen } from "../../../../src/sim/task.ts";

const RW = ODP_READ_ALLOWED_BIT | ODP_WRITE_ALLOWED_BIT;
const ODP = IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE;

/** A minimal driver: its ->invalidate records the range and unmaps under umem_mutex. */
function recordingOps(log: string[]): UmemOdpDriverOps<IntervalUmemOdp> {
  return {
    *invalidate(umem, range, curSeq) {
      if (!range.blockable) return false;
      yield* umem.umemMutex.lock();
      mmuIntervalSetSeq(umem.notifier, curSeq);
      intervalUnmapDmaPages(umem, range.start, range.end);
      umem.umemMutex.unlock();
      log.push(range.event);
      return true;
    },
  };
}

function setup(strategy: Strategy = new FirstRunnable(), seed = 1) {
  const h = odpHost({ seed, strategy, design: "interval" });
  return h;
}

function* openCtx(h: ReturnType<typeof setup>): KGen<{ mm: MmStruct; ctx: IbUcontext }> {
  const mm = h.proc.mm;
  if (mm === null) throw new Error("no mm");
  const ctx = yield* ibvOpenDevice(h.dev, mm, h.proc.pid);
  if (typeof ctx === "number") throw new Error("open failed");
  return { mm, ctx };
}

function* anon(mm: MmStruct, pages: number): KGen<number> {
  const addr = yield* vmMmap(
    mm,
    0,
    pages * PAGE_SIZE,
    PROT_READ | PROT_WRITE,
    MAP_PRIVATE | MAP_ANONYMOUS,
  );
  assert.ok(addr > 0);
  return addr;
}

/** Maps [addr, addr + pages) for write and drops umem_mutex; returns the pages mapped. */
function* mapAll(umem: IntervalUmemOdp, addr: number, pages: number): KGen<number> {
  const n = yield* ibUmemOdpMapDmaAndLock(umem, addr, pages * PAGE_SIZE, RW, true);
  if (n >= 0) umem.umemMutex.unlock();
  return n;
}

function runOk(h: ReturnType<typeof setup>): void {
  const r = h.k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations) + JSON.stringify(r.internalError));
}

test("interval umem: get inserts a notifier, map_dma_and_lock faults pages in and returns with umem_mutex held", () => {
  const h = setup();
  h.proc.spawnThread("t", function* (): KGen {
    const { mm, ctx } = yield* openCtx(h);
    const addr = yield* anon(mm, 4);
    const umem = yield* intervalDesign.get(ctx, addr + 100, 3 * PAGE_SIZE, ODP, recordingOps([]));
    assert.ok(umem instanceof IntervalUmemOdp);
    assert.equal(umem.address, addr, "start aligned down");
    assert.equal(umem.length, 4 * PAGE_SIZE, "end aligned up");
    assert.notEqual(umem.notifier.node, null, "notifier inserted");
    const n = yield* ibUmemOdpMapDmaAndLock(umem, addr, 2 * PAGE_SIZE, RW, true);
    assert.equal(n, 2);
    assert.equal(umem.umemMutex.owner, h.k.currentTask(), "returned with umem_mutex held");
    umem.umemMutex.unlock();
    const cpu = walkPte(mm, addr + PAGE_SIZE);
    assert.ok(cpu?.pte.writable, "write fault taken");
    assert.ok(cpu);
    assert.equal(umem.pageList?.get(1), cpu.pte.pfn + 1);
    assert.equal(umem.dmaList?.get(1), RW);
    assert.equal(umem.npages, 2);
    // Out of range, and no access.
    assert.equal(yield* ibUmemOdpMapDmaAndLock(umem, addr + 4 * PAGE_SIZE, 8, RW, true), EFAULT);
    assert.equal(yield* ibUmemOdpMapDmaAndLock(umem, addr, 8, 0, true), EINVAL);
    yield* intervalDesign.release(umem);
    assert.equal(umem.freed, true);
    assert.equal(umem.notifier.node, null, "notifier removed");
  });
  runOk(h);
});

test("interval umem: snapshot mode maps only present pages, with the CPU's access", () => {
  const h = setup();
  h.proc.spawnThread("t", function* (): KGen {
    const { mm, ctx } = yield* openCtx(h);
    const addr = yield* anon(mm, 4);
    yield* cpuWrite(mm, addr + 2 * PAGE_SIZE, new Uint8Array(4));
    const umem = yield* intervalDesign.get(ctx, addr, 4 * PAGE_SIZE, ODP, recordingOps([]));
    assert.ok(umem instanceof IntervalUmemOdp);
    const n = yield* ibUmemOdpMapDmaAndLock(umem, addr, 4 * PAGE_SIZE, ODP_READ_ALLOWED_BIT, false);
    assert.equal(n, 4, "the whole range is covered");
    umem.umemMutex.unlock();
    assert.equal(umem.npages, 1, "only the present page is mapped");
    assert.equal(umem.dmaList?.get(2), RW, "writable PTE gives write access");
    assert.equal(walkPte(mm, addr), null, "no fault taken");
  });
  runOk(h);
});

for (const [what, act] of [
  ["munmap", (mm: MmStruct, a: number) => vmMunmap(mm, a, PAGE_SIZE)],
  ["mprotect", (mm: MmStruct, a: number) => doMprotect(mm, a, PAGE_SIZE, PROT_READ)],
  ["madvise(DONTNEED)", (mm: MmStruct, a: number) => doMadvise(mm, a, PAGE_SIZE, MADV_DONTNEED)],
  ["migration", (mm: MmStruct, a: number) => migrateRange(mm, a, a + PAGE_SIZE)],
] as const) {
  test(`interval umem: ${what} invalidates and unmaps the page`, () => {
    const h = setup();
    h.proc.spawnThread("t", function* (): KGen {
      const { mm, ctx } = yield* openCtx(h);
      const addr = yield* anon(mm, 2);
      const log: string[] = [];
      const umem = yield* intervalDesign.get(ctx, addr, 2 * PAGE_SIZE, ODP, recordingOps(log));
      assert.ok(umem instanceof IntervalUmemOdp);
      assert.equal(yield* mapAll(umem, addr, 2), 2);
      yield* act(mm, addr);
      assert.ok(log.length > 0, "->invalidate ran");
      assert.equal(umem.pageList?.get(0), 0, "page 0 unmapped");
      assert.notEqual(umem.pageList.get(1), 0, "page 1 kept");
    });
    runOk(h);
  });
}

test("interval umem: a COW break after fork invalidates the parent's page; exit releases everything", () => {
  const h = setup();
  h.proc.spawnThread("t", function* (): KGen {
    const { mm, ctx } = yield* openCtx(h);
    const addr = yield* anon(mm, 2);
    const log: string[] = [];
    const umem = yield* intervalDesign.get(ctx, addr, 2 * PAGE_SIZE, ODP, recordingOps(log));
    assert.ok(umem instanceof IntervalUmemOdp);
    assert.equal(yield* mapAll(umem, addr, 2), 2);
    const child = yield* forkProcess(h.proc);
    assert.ok(typeof child !== "number");
    assert.equal(umem.npages, 0, "fork write-protects the parent: every page invalidated");
    assert.equal(yield* mapAll(umem, addr, 2), 2);
    yield* exitMm(child);
    yield* exitMm(h.proc);
    assert.ok(log.includes("RELEASE"), "exit_mmap released the interval");
    assert.equal(umem.npages, 0);
    assert.equal(yield* ibUmemOdpMapDmaAndLock(umem, addr, PAGE_SIZE, RW, true), EINVAL);
    yield* intervalDesign.release(umem);
  });
  runOk(h);
});

test("interval umem: a page recorded under umem_mutex is always the CPU's page (200 seeds of fault vs discard)", () => {
  for (let seed = 0; seed < 200; seed++) {
    const h = setup(new UniformRandom(), seed);
    let mapped = 0;
    h.proc.spawnThread("t", function* (): KGen {
      const { mm, ctx } = yield* openCtx(h);
      const addr = yield* anon(mm, 1);
      const umem = yield* intervalDesign.get(ctx, addr, PAGE_SIZE, ODP, recordingOps([]));
      assert.ok(umem instanceof IntervalUmemOdp);
      h.proc.spawnThread("cpu", function* (): KGen {
        for (let i = 0; i < 3; i++) {
          yield* doMadvise(mm, addr, PAGE_SIZE, MADV_DONTNEED);
          yield* cpuWrite(mm, addr, new Uint8Array(4).fill(i));
        }
      });
      for (let i = 0; i < 3; i++) {
        const n: number = yield* ibUmemOdpMapDmaAndLock(umem, addr, PAGE_SIZE, RW, true);
        assert.equal(n, 1);
        // Held: no invalidation can have changed the PTE since the retry check.
        const cpu = walkPte(mm, addr);
        assert.equal(umem.pageList?.get(0), (cpu?.pte.pfn ?? -2) + 1, `seed ${seed}`);
        mapped++;
        umem.umemMutex.unlock();
      }
    });
    runOk(h);
    assert.equal(mapped, 3);
  }
});

test("interval umem: implicit root has no notifier; children are 1 GiB leaves; argument errors", () => {
  const h = setup();
  h.proc.spawnThread("t", function* (): KGen {
    const { mm, ctx } = yield* openCtx(h);
    const addr = yield* anon(mm, 1);
    const ops = recordingOps([]);
    assert.equal(yield* intervalDesign.allocImplicit(ctx, ODP | IB_ACCESS_HUGETLB, ops), EINVAL);
    const root = yield* intervalDesign.allocImplicit(ctx, ODP, ops);
    assert.ok(root instanceof IntervalUmemOdp);
    assert.equal(root.pageList, null);
    assert.equal(root.notifier.node, null);
    const base = Math.floor(addr / 2 ** 30) * 2 ** 30;
    const child = yield* intervalDesign.allocChild(root, base, 2 ** 30, ops);
    assert.ok(child instanceof IntervalUmemOdp);
    assert.equal(child.root, root);
    assert.equal(yield* intervalDesign.allocChild(child, base, 2 ** 30, ops), EINVAL);
    assert.equal(yield* mapAll(child, addr, 1), 1);
    yield* intervalDesign.release(child);
    yield* intervalDesign.release(root);
    // Zero length, overflow, and a HUGETLB umem over small pages (refused at fault time).
    assert.equal(yield* intervalDesign.get(ctx, addr, 0, ODP, ops), EINVAL);
    assert.equal(
      yield* intervalDesign.get(ctx, addr, Number.MAX_SAFE_INTEGER, ODP, ops),
      EOVERFLOW,
    );
    const huge = yield* intervalDesign.get(ctx, addr, PAGE_SIZE, ODP | IB_ACCESS_HUGETLB, ops);
    assert.ok(huge instanceof IntervalUmemOdp);
    assert.equal(huge.pageShift, 21, "unaligned HUGETLB range widened to 2 MiB");
    // The 2 MiB device page is not backed by a 2 MiB CPU mapping: the fault fails.
    assert.ok((yield* ibUmemOdpMapDmaAndLock(huge, addr, PAGE_SIZE, RW, true)) < 0);
    yield* intervalDesign.release(huge);
  });
  runOk(h);
  const live = h.k.kasan.liveObjects().map((o) => o.objKind);
  assert.ok(!live.some((kind) => kind.startsWith("umem_odp")), live.join(","));
});
