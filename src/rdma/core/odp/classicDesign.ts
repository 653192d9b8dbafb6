/**
 * The classic design's creation, unmap and release paths.
 *
 * Models ib_umem_odp_get / ib_umem_odp_alloc_implicit / ib_umem_odp_alloc_child /
 * ib_umem_odp_unmap_dma_pages / ib_umem_odp_release of drivers/infiniband/core/
 * umem_odp.c, v5.3 with seed 000 applied. An implicit root (no range, no lists) joins
 * the per_mm of its mm like any umem but stays out of the tree; each child shares the
 * root's per_mm and sits in its tree, so invalidations reach children through the one
 * mmu_notifier, and the per_mm lives until the last of them is released.
 *
 * v5.3's unmap took umem_mutex itself, so the driver zapped the device page table under
 * one hold and the DMA unmap ran under another; "RDMA/odp: Lift umem_mutex out of
 * ib_umem_odp_unmap_dma_pages()" (v5.4-rc) made the caller hold it across both. The
 * model runs the fixed form; catalog defect #14 (ODP_UNMAP_TAKES_MUTEX) restores v5.3.
 */
import { EFAULT, EINVAL } from "../../../sim/errno.ts";
import type { KGen } from "../../../sim/task.ts";
import { mmdrop, mmgrab } from "../../../mm/mmStruct.ts";
import { PAGE_SHIFT } from "../../../mm/page.ts";
import { IB_ACCESS_HUGETLB, ibAccessWritable } from "../ibVerbs.ts";
import type { IbUcontext } from "../ucontext.ts";
import { ibUmemEnd, ibUmemStart, type UmemOdpKind } from "../umemOdp.ts";
import { ClassicUmemOdp } from "./classicUmemOdp.ts";
import {
  addUmemToPerMm,
  getPerMm,
  putPerMm,
  removeUmemFromPerMm,
  sharePerMm,
} from "./classicPerMm.ts";
import { umemAlign, umemPageShift } from "./odpArgs.ts";
import { unmapDmaPagesLocked } from "./unmapDmaPages.ts";
import type { UmemOdpDesign } from "./umemOdpDesign.ts";

function* initUmem(umem: ClassicUmemOdp): KGen<ClassicUmemOdp | number> {
  const ret = yield* getPerMm(umem);
  if (ret !== 0) {
    mmdrop(umem.owningMm);
    umem.context.k.kasan.free(umem);
    return ret;
  }
  yield* addUmemToPerMm(umem);
  return umem;
}

/**
 * The lockdep class of an implicit child's umem_mutex. v5.3 initializes it in
 * ib_alloc_odp_umem, apart from ib_umem_odp_get's (explicit umems and the implicit
 * root), and lockdep keys a mutex by that site: the fault path's order (root umem_mutex,
 * then umem_rwsem to find or insert a child) and the invalidation's (umem_rwsem, then a
 * child's umem_mutex) involve two classes and close no cycle. The consolidation into
 * ib_init_umem_odp that seed 000 builds on (v5.4) merged the sites; lockdep then sees
 * one class and reports the two orders as a cycle, though no deadlock exists (nothing
 * takes the root's umem_mutex under umem_rwsem). odpsim keeps v5.3's two keys.
 */
const CHILD_UMEM_MUTEX_CLASS = "umem_mutex(ib_alloc_odp_umem)";

function newUmem(
  ctx: IbUcontext,
  kind: UmemOdpKind,
  address: number,
  length: number,
  pageShift: number,
  access: number,
  root?: ClassicUmemOdp,
): ClassicUmemOdp {
  const umem = new ClassicUmemOdp({
    context: ctx,
    owningMm: ctx.mm,
    kind,
    address,
    length,
    pageShift,
    writable: ibAccessWritable(access),
    access,
    ...(root === undefined ? {} : { root, umemMutexClass: CHILD_UMEM_MUTEX_CLASS }),
  });
  mmgrab(ctx.mm);
  return umem;
}

/** Catalog defect #14: ib_umem_odp_unmap_dma_pages() takes umem_mutex itself (v5.3). */
export const ODP_UNMAP_TAKES_MUTEX = "odp-unmap-takes-umem-mutex";

/** Whether this run's unmap takes umem_mutex itself (v5.3) rather than its caller. */
export function unmapTakesMutex(umem: ClassicUmemOdp): boolean {
  return umem.context.k.hasDefect(ODP_UNMAP_TAKES_MUTEX);
}

/**
 * ib_umem_odp_unmap_dma_pages(): the caller holds umem_mutex (lockdep_assert_held),
 * except under catalog defect #14, where it takes the mutex itself as v5.3 did.
 */
export function* classicUnmapDmaPages(umem: ClassicUmemOdp, virt: number, bound: number): KGen {
  if (!unmapTakesMutex(umem)) {
    umem.umemMutex.assertHeld();
    unmapDmaPagesLocked(umem, virt, bound);
    return;
  }
  yield* umem.umemMutex.lock();
  unmapDmaPagesLocked(umem, virt, bound);
  umem.umemMutex.unlock();
}

/** Unmaps [virt, bound) with umem_mutex held around it by whichever side the era says. */
export function* classicUnmapDmaPagesLocking(
  umem: ClassicUmemOdp,
  virt: number,
  bound: number,
): KGen {
  const callerLocks = !unmapTakesMutex(umem);
  if (callerLocks) yield* umem.umemMutex.lock();
  yield* classicUnmapDmaPages(umem, virt, bound);
  if (callerLocks) umem.umemMutex.unlock();
}

export const classicDesign: UmemOdpDesign<ClassicUmemOdp> = {
  name: "classic",

  *get(ctx, addr, size, access) {
    const pageShift = yield* umemPageShift(ctx.mm, addr, access);
    if (pageShift < 0) return pageShift;
    const range = umemAlign(addr, size, pageShift);
    if (typeof range === "number") return range;
    return yield* initUmem(newUmem(ctx, "explicit", range.start, range.length, pageShift, access));
  },

  *allocImplicit(ctx, access) {
    if ((access & IB_ACCESS_HUGETLB) !== 0) return EINVAL;
    if (ctx.invalidateRange === null) return EINVAL;
    return yield* initUmem(newUmem(ctx, "implicit_root", 0, 0, PAGE_SHIFT, access));
  },

  *allocChild(root, addr, size) {
    // The caller must keep `root` alive for the duration (it holds the parent MR).
    if (root.kind !== "implicit_root") return EINVAL;
    const perMm = root.perMm;
    if (perMm === null) throw new Error("implicit root without its per_mm");
    const k = root.context.k;
    if (!k.kasan.check(perMm, "ib_umem_odp_alloc_child shares the root's per_mm")) return EFAULT;
    // v5.3 joins the root's per_mm and its interval tree: no notifier is registered for
    // a child, so the fault worker creating it needs no mm_users (mmget_not_zero came
    // with the per-umem interval notifiers; catalog defect implicit-child-no-mmget is
    // the interval design's). A child made after exit_mmap fails at its first map,
    // whose mmget_not_zero does fail.
    const child = newUmem(
      root.context,
      "implicit_child",
      addr,
      size,
      PAGE_SHIFT,
      root.access,
      root,
    );
    yield* sharePerMm(child, perMm);
    yield* addUmemToPerMm(child);
    return child;
  },

  unmapDmaPages: classicUnmapDmaPagesLocking,

  *release(umem) {
    if (!umem.isImplicitOdp) {
      yield* classicUnmapDmaPagesLocking(umem, ibUmemStart(umem), ibUmemEnd(umem));
    }
    yield* removeUmemFromPerMm(umem);
    yield* putPerMm(umem);
    mmdrop(umem.owningMm);
    umem.context.k.kasan.free(umem);
  },
};
