/**
 * The interval design's creation, unmap and release paths.
 *
 * Models ib_umem_odp_get / ib_umem_odp_alloc_implicit / ib_umem_odp_alloc_child /
 * ib_umem_odp_unmap_dma_pages / ib_umem_odp_release of drivers/infiniband/core/
 * umem_odp.c as of v6.13: every umem but an implicit root inserts its own interval
 * notifier (the caller's mm must be live: a child checks with mmget_not_zero, since it
 * is created from a page-fault worker); the driver's ->invalidate reaches the umem
 * through it; unmap runs under the umem_mutex its caller holds; release unmaps
 * everything under the mutex and only then removes the notifier (which waits for a
 * running invalidation to end).
 */
import { EFAULT, EINVAL } from "../../../sim/errno.ts";
import type { KGen } from "../../../sim/task.ts";
import { mmdrop, mmgetNotZero, mmgrab, mmput } from "../../../mm/mmStruct.ts";
import { HPAGE_PMD_SHIFT, PAGE_SHIFT } from "../../../mm/page.ts";
import {
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
} from "../../../mm/notifier/mmuIntervalNotifier.ts";
import { IB_ACCESS_HUGETLB, IB_ACCESS_ON_DEMAND, ibAccessWritable } from "../ibVerbs.ts";
import type { IbUcontext } from "../ucontext.ts";
import { ibUmemEnd, ibUmemStart, type UmemOdpKind } from "../umemOdp.ts";
import { IntervalUmemOdp, intervalUnmapDmaPages } from "./intervalUmemOdp.ts";
import { umemAlign, umemPageShift } from "./odpArgs.ts";
import type { UmemOdpDesign, UmemOdpDriverOps } from "./umemOdpDesign.ts";

function newUmem(
  ctx: IbUcontext,
  kind: UmemOdpKind,
  address: number,
  length: number,
  pageShift: number,
  access: number,
  ops: UmemOdpDriverOps<IntervalUmemOdp>,
  root?: IntervalUmemOdp,
): IntervalUmemOdp {
  const umem = new IntervalUmemOdp(
    {
      context: ctx,
      owningMm: ctx.mm,
      kind,
      address,
      length,
      pageShift,
      writable: ibAccessWritable(access),
      access,
      ...(root === undefined ? {} : { root }),
    },
    ops,
  );
  mmgrab(ctx.mm);
  return umem;
}

/** Frees a umem whose notifier never got inserted. */
function freeUnregistered(umem: IntervalUmemOdp): void {
  mmdrop(umem.owningMm);
  umem.context.k.kasan.free(umem);
}

/** ib_init_umem_odp(): insert the umem's interval notifier over its range. */
function* initUmem(umem: IntervalUmemOdp): KGen<IntervalUmemOdp | number> {
  const ret = yield* mmuIntervalNotifierInsert(
    umem.notifier,
    umem.owningMm,
    ibUmemStart(umem),
    umem.length,
  );
  if (ret !== 0) {
    freeUnregistered(umem);
    return ret;
  }
  return umem;
}

/**
 * The umem's page shift. Since "IB/core: Fix ODP with IB_ACCESS_HUGETLB handling" the
 * VMA is not looked at here (it may not exist yet): a small page met at fault time is
 * an error there. Catalog defect hugetlb-checked-at-registration-only restores the
 * registration-time check.
 */
function* pageShiftFor(ctx: IbUcontext, addr: number, access: number): KGen<number> {
  if (ctx.k.hasDefect("hugetlb-checked-at-registration-only")) {
    return yield* umemPageShift(ctx.mm, addr, access);
  }
  return (access & IB_ACCESS_HUGETLB) !== 0 ? HPAGE_PMD_SHIFT : PAGE_SHIFT;
}

export const intervalDesign: UmemOdpDesign<IntervalUmemOdp> = {
  name: "interval",

  *get(ctx, addr, size, access, ops) {
    if ((access & IB_ACCESS_ON_DEMAND) === 0) return EINVAL;
    const pageShift = yield* pageShiftFor(ctx, addr, access);
    if (pageShift < 0) return pageShift;
    const range = umemAlign(addr, size, pageShift);
    if (typeof range === "number") return range;
    const umem = newUmem(ctx, "explicit", range.start, range.length, pageShift, access, ops);
    return yield* initUmem(umem);
  },

  *allocImplicit(ctx, access, ops) {
    if ((access & IB_ACCESS_HUGETLB) !== 0) return EINVAL;
    yield "ib_umem_odp_alloc_implicit";
    // No range, no lists, no notifier: the root only holds the mm for its children.
    return newUmem(ctx, "implicit_root", 0, 0, PAGE_SHIFT, access, ops);
  },

  *allocChild(root, addr, size, ops) {
    // The caller keeps `root` alive for the duration (it holds the parent MR).
    if (root.kind !== "implicit_root") return EINVAL;
    const k = root.context.k;
    const child = newUmem(
      root.context,
      "implicit_child",
      addr,
      size,
      PAGE_SHIFT,
      root.access,
      ops,
      root,
    );
    // Catalog defect implicit-child-no-mmget: before "RDMA/odp: Ensure the mm is still
    // alive before creating an implicit child" the notifier was inserted from the fault
    // worker with only the root's mmgrab, racing exit_mmap.
    const needsGet = !k.hasDefect("implicit-child-no-mmget");
    if (needsGet && !mmgetNotZero(child.owningMm)) {
      freeUnregistered(child);
      return EFAULT;
    }
    const ret = yield* initUmem(child);
    if (needsGet) yield* mmput(root.owningMm);
    return ret;
  },

  *unmapDmaPages(umem, virt, bound) {
    intervalUnmapDmaPages(umem, virt, bound);
    yield "ib_umem_odp_unmap_dma_pages";
  },

  *release(umem) {
    const k = umem.context.k;
    // The first dereference of the umem: a release of one released before is a KASAN
    // report here, not a second unmap and notifier removal.
    if (!k.kasan.check(umem, "ib_umem_odp_release")) return;
    if (!umem.isImplicitOdp) {
      yield* umem.umemMutex.lock();
      intervalUnmapDmaPages(umem, ibUmemStart(umem), ibUmemEnd(umem));
      umem.umemMutex.unlock();
      yield* mmuIntervalNotifierRemove(umem.notifier);
    }
    mmdrop(umem.owningMm);
    k.kasan.free(umem);
  },
};
