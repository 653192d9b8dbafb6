import assert from "node:assert/strict";
import { test } from "node:test";
import { odpHost } from "../../../../src/check/catalog/scenarios/odpHost.ts";
import { cpuWrite } from "../../../../src/mm/access.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_HUGETLB,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
} from "../../../../src/mm/mmap.ts";
import type { MmStruct } from "../../../../src/mm/mmStruct.ts";
import { mmuIntervalSetSeq } from "../../../../src/mm/notifier/mmuIntervalNotifier.ts";
import { HPAGE_PMD_SIZE, PAGE_SIZE } from "../../../../src/mm/page.ts";
import { walkPte } from "../../../../src/mm/pageTable.ts";
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
import { EFAULT, EINVAL } from "../../../../src/sim/errno.ts";
import { FirstRunnable } from "../../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../../src/sim/task.ts";

const RW = ODP_READ_ALLOWED_BIT | ODP_WRITE_ALLOWED_BIT;
const HUGE_ODP = IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE | IB_ACCESS_HUGETLB;
const DEFECT = "hugetlb-checked-at-registration-only";
/** 4 KiB pages in a 2 MiB huge page. */
const SUBPAGES = HPAGE_PMD_SIZE / PAGE_SIZE;

/** A minimal driver: its ->invalidate unmaps under umem_mutex (no device to zap). */
const unmappingOps: UmemOdpDriverOps<IntervalUmemOdp> = {
  *invalidate(umem, range, curSeq) {
    yield* umem.umemMutex.lock();
    mmuIntervalSetSeq(umem.notifier, curSeq);
    intervalUnmapDmaPages(umem, range.start, range.end);
    umem.umemMutex.unlock();
    return true;
  },
};

/** A host with room for a huge page and the small pages that replace it. */
function setup(defects: string[] = []) {
  return odpHost({ seed: 1, strategy: new FirstRunnable(), design: "interval", defects }, 2048);
}

function* openCtx(h: ReturnType<typeof setup>): KGen<{ mm: MmStruct; ctx: IbUcontext }> {
  const mm = h.proc.mm;
  if (mm === null) throw new Error("no mm");
  const ctx = yield* ibvOpenDevice(h.dev, mm, h.proc.pid);
  if (typeof ctx === "number") throw new Error("open failed");
  return { mm, ctx };
}

/** One touched MAP_HUGETLB huge page and a HUGETLB umem over it. */
function* hugeUmem(mm: MmStruct, ctx: IbUcontext): KGen<{ addr: number; umem: IntervalUmemOdp }> {
  const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;
  const addr = yield* vmMmap(mm, 0, HPAGE_PMD_SIZE, PROT_READ | PROT_WRITE, flags);
  assert.ok(addr > 0);
  assert.ok((yield* cpuWrite(mm, addr, new Uint8Array(16).fill(1))).ok);
  const umem = yield* intervalDesign.get(ctx, addr, HPAGE_PMD_SIZE, HUGE_ODP, unmappingOps);
  assert.ok(umem instanceof IntervalUmemOdp);
  assert.equal(umem.pageShift, 21);
  return { addr, umem };
}

/** mmap(MAP_FIXED) ordinary anonymous memory over the huge page. */
function* replaceWithSmallPages(mm: MmStruct, addr: number): KGen {
  const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
  assert.equal(yield* vmMmap(mm, addr, HPAGE_PMD_SIZE, PROT_READ | PROT_WRITE, flags), addr);
}

function cpuPfn(mm: MmStruct, va: number): number | null {
  const walk = walkPte(mm, va);
  return walk === null ? null : walk.pte.pfn + Math.floor((va - walk.base) / PAGE_SIZE);
}

function runOk(h: ReturnType<typeof setup>): void {
  const r = h.k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations) + JSON.stringify(r.internalError));
}

test("HUGETLB umem: a hugetlb page is mapped whole as one umem page", () => {
  const h = setup();
  h.proc.spawnThread("t", function* (): KGen {
    const { mm, ctx } = yield* openCtx(h);
    const { addr, umem } = yield* hugeUmem(mm, ctx);
    // A 16-byte access in the middle faults the whole huge page in as one entry.
    assert.equal(yield* ibUmemOdpMapDmaAndLock(umem, addr + 300 * PAGE_SIZE, 16, RW, true), 1);
    umem.umemMutex.unlock();
    assert.equal(umem.pageList?.get(0), (cpuPfn(mm, addr) ?? -1) + 1);
    assert.equal(cpuPfn(mm, addr + 300 * PAGE_SIZE), (cpuPfn(mm, addr) ?? -1) + 300);
    yield* intervalDesign.release(umem);
  });
  runOk(h);
});

test("HUGETLB umem: small pages that replaced the hugetlb VMA are refused at fault time with -EINVAL", () => {
  const h = setup();
  h.proc.spawnThread("t", function* (): KGen {
    const { mm, ctx } = yield* openCtx(h);
    const { addr, umem } = yield* hugeUmem(mm, ctx);
    assert.equal(yield* ibUmemOdpMapDmaAndLock(umem, addr, 16, RW, true), 1);
    umem.umemMutex.unlock();
    yield* replaceWithSmallPages(mm, addr);
    assert.equal(umem.npages, 0, "the replacement invalidated the huge page");
    // Even a fault of the first 16 bytes looks at the whole 2 MiB and sees order 0.
    assert.equal(yield* ibUmemOdpMapDmaAndLock(umem, addr, 16, RW, true), EINVAL);
    assert.equal(umem.umemMutex.owner, null, "umem_mutex released on the error");
    assert.equal(umem.npages, 0);
    assert.equal(umem.pageList?.get(0), 0, "nothing recorded for the device");
    yield* intervalDesign.release(umem);
  });
  runOk(h);
});

test("HUGETLB umem: registration does not need the VMA yet (ODP may register before mmap)", () => {
  for (const defects of [[], [DEFECT]]) {
    const h = setup(defects);
    let ret: unknown = null;
    h.proc.spawnThread("t", function* (): KGen {
      const { ctx } = yield* openCtx(h);
      // Nothing is mapped at 1 GiB.
      ret = yield* intervalDesign.get(ctx, 2 ** 30, HPAGE_PMD_SIZE, HUGE_ODP, unmappingOps);
      if (ret instanceof IntervalUmemOdp) yield* intervalDesign.release(ret);
    });
    runOk(h);
    if (defects.length === 0) assert.ok(ret instanceof IntervalUmemOdp, "fixed: registered");
    else assert.equal(ret, EINVAL, "v5.5: no hugetlb VMA at registration, -EINVAL");
  }
});

test(`defect ${DEFECT}: a fault at the start maps one small page as the whole 2 MiB; one past a discontiguity is -EFAULT`, () => {
  const h = setup([DEFECT]);
  h.proc.spawnThread("t", function* (): KGen {
    const { mm, ctx } = yield* openCtx(h);
    const { addr, umem } = yield* hugeUmem(mm, ctx);
    yield* replaceWithSmallPages(mm, addr);
    // v5.5: get_user_pages fetched only the first 4 KiB page, and nothing was compared.
    assert.equal(yield* ibUmemOdpMapDmaAndLock(umem, addr, 16, RW, true), 1);
    umem.umemMutex.unlock();
    const head = cpuPfn(mm, addr);
    assert.ok(head !== null);
    assert.equal(umem.pageList?.get(0), head + 1, "the small page stands for 2 MiB");
    assert.equal(cpuPfn(mm, addr + 64 * PAGE_SIZE), null, "the CPU maps nothing further in");
    // A fault reaching further fetches 65 pages; the allocator did not hand them out
    // contiguously, so the v5.5 check refuses the fault.
    const far = addr + 64 * PAGE_SIZE;
    const ret = yield* ibUmemOdpMapDmaAndLock(umem, far, 16, RW, true);
    const pfns = Array.from({ length: 65 }, (_, i) => cpuPfn(mm, addr + i * PAGE_SIZE));
    assert.ok(
      pfns.some((p, i) => p !== head + i),
      "precondition: the small pages are not contiguous",
    );
    assert.equal(ret, EFAULT);
    assert.equal(umem.umemMutex.owner, null);
    yield* intervalDesign.release(umem);
  });
  runOk(h);
});

test(`defect ${DEFECT}: a HUGETLB umem over hugetlb memory still maps it whole`, () => {
  const h = setup([DEFECT]);
  h.proc.spawnThread("t", function* (): KGen {
    const { mm, ctx } = yield* openCtx(h);
    const { addr, umem } = yield* hugeUmem(mm, ctx);
    const last = addr + (SUBPAGES - 1) * PAGE_SIZE;
    assert.equal(yield* ibUmemOdpMapDmaAndLock(umem, last, 16, RW, true), 1);
    umem.umemMutex.unlock();
    assert.equal(umem.pageList?.get(0), (cpuPfn(mm, addr) ?? -1) + 1);
    yield* intervalDesign.release(umem);
  });
  runOk(h);
});
