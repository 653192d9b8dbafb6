import assert from "node:assert/strict";
import { test } from "node:test";
import { odpHost } from "../../../../src/check/catalog/scenarios/odpHost.ts";
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
} from "../../../../src/mm/mmap.ts";
import type { MmStruct } from "../../../../src/mm/mmStruct.ts";
import { PAGE_SIZE } from "../../../../src/mm/page.ts";
import { exitMm } from "../../../../src/mm/process.ts";
import { classicDesign } from "../../../../src/rdma/core/odp/classicDesign.ts";
import {
  ClassicUmemOdp,
  ibUmemOdpMapDmaPages,
} from "../../../../src/rdma/core/odp/classicUmemOdp.ts";
import {
  IB_ACCESS_HUGETLB,
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
} from "../../../../src/rdma/core/ibVerbs.ts";
import type { IbUcontext } from "../../../../src/rdma/core/ucontext.ts";
import { ODP_READ_ALLOWED_BIT, ODP_WRITE_ALLOWED_BIT } from "../../../../src/rdma/core/umemOdp.ts";
import { ibvOpenDevice } from "../../../../src/rdma/core/verbs.ts";
import { EINVAL } from "../../../../src/sim/errno.ts";
import { FirstRunnable } from "../../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../../src/sim/task.ts";

const RW = ODP_READ_ALLOWED_BIT | ODP_WRITE_ALLOWED_BIT;
const ODP = IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE;
const GIB = 2 ** 30;

function setup() {
  return odpHost({ seed: 1, strategy: new FirstRunnable(), design: "classic" });
}

function* openCtx(h: ReturnType<typeof setup>): KGen<{ mm: MmStruct; ctx: IbUcontext }> {
  const mm = h.proc.mm;
  if (mm === null) throw new Error("no mm");
  const ctx = yield* ibvOpenDevice(h.dev, mm, h.proc.pid);
  if (typeof ctx === "number") throw new Error("open failed");
  return { mm, ctx };
}

function* anon(mm: MmStruct, pages: number): KGen<number> {
  const prot = PROT_READ | PROT_WRITE;
  const addr = yield* vmMmap(mm, 0, pages * PAGE_SIZE, prot, MAP_PRIVATE | MAP_ANONYMOUS);
  assert.ok(addr > 0);
  return addr;
}

function runOk(h: ReturnType<typeof setup>): void {
  const r = h.k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations) + JSON.stringify(r.internalError));
}

function liveKinds(h: ReturnType<typeof setup>): string[] {
  return h.k.kasan.liveObjects().map((o) => o.objKind);
}

test("classic umem: the implicit root joins the per_mm but not its tree; HUGETLB is refused", () => {
  const h = setup();
  h.proc.spawnThread("t", function* (): KGen {
    const { ctx } = yield* openCtx(h);
    assert.equal(yield* classicDesign.allocImplicit(ctx, ODP | IB_ACCESS_HUGETLB, {}), EINVAL);
    const root = yield* classicDesign.allocImplicit(ctx, ODP, {});
    assert.ok(root instanceof ClassicUmemOdp);
    assert.equal(root.kind, "implicit_root");
    assert.equal(root.pageList, null, "no page lists");
    assert.equal(root.treeNode, null, "no VA range, so not in the tree");
    const perMm = root.perMm;
    assert.ok(perMm);
    assert.equal(perMm.odpMrsCount, 1);
    assert.ok(perMm.umemTree.isEmpty());
    yield* classicDesign.release(root);
    assert.equal(perMm.active, false, "the last umem deactivated the per_mm");
  });
  runOk(h);
  assert.ok(!liveKinds(h).some((k) => k.startsWith("umem_odp")), liveKinds(h).join(","));
});

test("classic umem: children share the root's per_mm and sit in its tree until released", () => {
  const h = setup();
  h.proc.spawnThread("t", function* (): KGen {
    const { mm, ctx } = yield* openCtx(h);
    const addr = yield* anon(mm, 2);
    const root = yield* classicDesign.allocImplicit(ctx, ODP, {});
    assert.ok(root instanceof ClassicUmemOdp);
    const perMm = root.perMm;
    assert.ok(perMm);
    const base = Math.floor(addr / GIB) * GIB;
    const a = yield* classicDesign.allocChild(root, base, GIB, {});
    const b = yield* classicDesign.allocChild(root, base + GIB, GIB, {});
    assert.ok(a instanceof ClassicUmemOdp && b instanceof ClassicUmemOdp);
    assert.equal(a.perMm, perMm, "same per_mm object: no second notifier");
    assert.equal(b.perMm, perMm);
    assert.equal(ctx.perMmList.length, 1);
    assert.equal(perMm.odpMrsCount, 3);
    assert.equal(a.root, root);
    assert.equal(a.writable, true, "writable follows the root's access");
    assert.equal(perMm.umemTree.countOverlaps(base, base + 2 * GIB - 1), 2);
    // A child of a child is refused.
    assert.equal(yield* classicDesign.allocChild(a, base, GIB, {}), EINVAL);
    assert.equal(yield* ibUmemOdpMapDmaPages(a, addr, 2 * PAGE_SIZE, RW, a.notifiersSeq), 2);
    assert.equal(a.npages, 2);
    yield* classicDesign.release(a);
    assert.equal(a.freed, true);
    assert.equal(perMm.umemTree.countOverlaps(base, base + GIB - 1), 0, "a left the tree");
    assert.equal(perMm.odpMrsCount, 2);
    yield* classicDesign.release(root);
    assert.equal(perMm.active, true, "b still holds the per_mm");
    yield* classicDesign.release(b);
    assert.equal(perMm.active, false);
  });
  runOk(h);
  assert.ok(
    !liveKinds(h).some((k) => k.startsWith("umem_odp") || k === "ib_ucontext_per_mm"),
    liveKinds(h).join(","),
  );
});

test("classic umem: a child made after the mm's users are gone is created (no mmget in v5.3) but cannot map", () => {
  const h = setup();
  h.proc.spawnThread("t", function* (): KGen {
    const { mm, ctx } = yield* openCtx(h);
    const addr = yield* anon(mm, 1);
    const root = yield* classicDesign.allocImplicit(ctx, ODP, {});
    assert.ok(root instanceof ClassicUmemOdp);
    yield* exitMm(h.proc);
    assert.equal(mm.mmUsers.read(), 0);
    const base = Math.floor(addr / GIB) * GIB;
    const child = yield* classicDesign.allocChild(root, base, GIB, {});
    assert.ok(child instanceof ClassicUmemOdp, "joins the per_mm without mm_users");
    // ib_umem_odp_map_dma_pages' own mmget_not_zero is where a dead mm is refused.
    assert.equal(
      yield* ibUmemOdpMapDmaPages(child, addr, PAGE_SIZE, RW, child.notifiersSeq),
      EINVAL,
    );
    yield* classicDesign.release(child);
    yield* classicDesign.release(root);
  });
  runOk(h);
});

test("classic umem: a mapped page holds no reference (put_page right after mapping, 'avoid pinning the page')", () => {
  const h = setup();
  h.proc.spawnThread("t", function* (): KGen {
    const { mm, ctx } = yield* openCtx(h);
    const addr = yield* anon(mm, 2);
    const root = yield* classicDesign.allocImplicit(ctx, ODP, {});
    assert.ok(root instanceof ClassicUmemOdp);
    const base = Math.floor(addr / GIB) * GIB;
    const a = yield* classicDesign.allocChild(root, base, GIB, {});
    assert.ok(a instanceof ClassicUmemOdp);
    assert.equal(yield* ibUmemOdpMapDmaPages(a, addr, PAGE_SIZE, RW, a.notifiersSeq), 1);
    const idx = (addr - base) / PAGE_SIZE;
    const pfn = (a.pageList?.get(idx) ?? 0) - 1;
    assert.ok(pfn >= 0, "mapped");
    const page = mm.phys.pfnToPage(pfn);
    assert.equal(page.refcount, page.mapcount, "only the CPU mapping holds the page");
    yield* classicDesign.release(a);
    assert.equal(page.refcount, page.mapcount, "unmap dropped nothing either");
    yield* classicDesign.release(root);
  });
  runOk(h);
});
