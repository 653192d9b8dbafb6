/**
 * The IB core of a design that keeps one notifier per (ucontext, mm), built from what
 * that design brings: the classic design (v5.3, an mmu_notifier) and the hmm-mirror
 * posting (seed 002 on v5.2, an hmm_mirror) create, share and release umems the same
 * way and differ in the umem, the per_mm's notifier and the unmap.
 *
 * Models ib_umem_odp_get / ib_umem_odp_alloc_implicit / ib_umem_odp_alloc_child (seed
 * 000's names for v5.2's ib_alloc_odp_umem) / ib_umem_odp_release of drivers/infiniband/
 * core/umem_odp.c, v5.2/v5.3. An implicit root (no range, no lists) joins the per_mm of
 * its mm like any umem but stays out of the tree; each child shares the root's per_mm
 * and sits in its tree, so invalidations reach children through the one notifier, and
 * the per_mm lives until the last of them is released.
 */
import { EFAULT, EINVAL } from "../../../sim/errno.ts";
import type { KGen } from "../../../sim/task.ts";
import { mmdrop, mmgrab } from "../../../mm/mmStruct.ts";
import { PAGE_SHIFT } from "../../../mm/page.ts";
import { IB_ACCESS_HUGETLB, ibAccessWritable } from "../ibVerbs.ts";
import type { IbUcontext } from "../ucontext.ts";
import { ibUmemEnd, ibUmemStart, type UmemOdpInit, type UmemOdpKind } from "../umemOdp.ts";
import { umemAlign, umemPageShift } from "./odpArgs.ts";
import {
  addUmemToPerMm,
  putPerMm,
  removeUmemFromPerMm,
  sharePerMm,
  type PerMmUmem,
} from "./perMm.ts";
import type { OdpDesignName, UmemOdpDesign } from "./umemOdpDesign.ts";

/** What a per_mm design brings to the shared creation and release paths. */
export interface PerMmDesignParts<U extends PerMmUmem<U>> {
  readonly name: OdpDesignName;
  /** The design's umem class. */
  readonly Umem: new (init: UmemOdpInit) => U;
  /** get_per_mm(): the umem's per_mm of the design's kind, found or made and registered. */
  getPerMm(umem: U): KGen<number>;
  /** What remove_umem_from_per_mm() does besides leaving the tree, under umem_rwsem. */
  onRemoveFromTree?(umem: U): void;
  /** ib_umem_odp_unmap_dma_pages() as release and the driver run it (taking umem_mutex). */
  unmapDmaPages(umem: U, virt: number, bound: number): KGen;
  /** The function that shares the root's per_mm with a child, as KASAN names it. */
  readonly allocChildSite: string;
}

/**
 * The lockdep class of an implicit child's umem_mutex. v5.2/v5.3 initialize it in
 * ib_alloc_odp_umem, apart from ib_umem_odp_get's (explicit umems and the implicit
 * root), and lockdep keys a mutex by that site: the fault path's order (root umem_mutex,
 * then umem_rwsem to find or insert a child) and the invalidation's (umem_rwsem, then a
 * child's umem_mutex) involve two classes and close no cycle. The consolidation into
 * ib_init_umem_odp that seed 000 builds on (v5.4) merged the sites; lockdep then sees
 * one class and reports the two orders as a cycle, though no deadlock exists (nothing
 * takes the root's umem_mutex under umem_rwsem). odpsim keeps the two keys.
 */
const CHILD_UMEM_MUTEX_CLASS = "umem_mutex(ib_alloc_odp_umem)";

/** The design's UmemOdpDesign over `parts`. */
export function perMmDesign<U extends PerMmUmem<U>>(parts: PerMmDesignParts<U>): UmemOdpDesign<U> {
  return {
    name: parts.name,
    get: (ctx, addr, size, access) => ibUmemOdpGet(parts, ctx, addr, size, access),
    allocImplicit: (ctx, access) => ibUmemOdpAllocImplicit(parts, ctx, access),
    allocChild: (root, addr, size) => ibUmemOdpAllocChild(parts, root, addr, size),
    unmapDmaPages: (umem, virt, bound) => parts.unmapDmaPages(umem, virt, bound),
    release: (umem) => ibUmemOdpRelease(parts, umem),
  };
}

function* ibUmemOdpGet<U extends PerMmUmem<U>>(
  parts: PerMmDesignParts<U>,
  ctx: IbUcontext,
  addr: number,
  size: number,
  access: number,
): KGen<U | number> {
  const pageShift = yield* umemPageShift(ctx.mm, addr, access);
  if (pageShift < 0) return pageShift;
  const range = umemAlign(addr, size, pageShift);
  if (typeof range === "number") return range;
  const umem = newUmem(parts, ctx, "explicit", range.start, range.length, pageShift, access);
  return yield* initUmem(parts, umem);
}

function* ibUmemOdpAllocImplicit<U extends PerMmUmem<U>>(
  parts: PerMmDesignParts<U>,
  ctx: IbUcontext,
  access: number,
): KGen<U | number> {
  if ((access & IB_ACCESS_HUGETLB) !== 0) return EINVAL;
  if (ctx.invalidateRange === null) return EINVAL;
  return yield* initUmem(parts, newUmem(parts, ctx, "implicit_root", 0, 0, PAGE_SHIFT, access));
}

function* ibUmemOdpRelease<U extends PerMmUmem<U>>(parts: PerMmDesignParts<U>, umem: U): KGen {
  // An implicit root has no pages to unmap.
  if (!umem.isImplicitOdp) {
    yield* parts.unmapDmaPages(umem, ibUmemStart(umem), ibUmemEnd(umem));
  }
  yield* removeUmemFromPerMm(umem, () => parts.onRemoveFromTree?.(umem));
  yield* putPerMm(umem);
  mmdrop(umem.owningMm);
  umem.context.k.kasan.free(umem);
}

function newUmem<U extends PerMmUmem<U>>(
  parts: PerMmDesignParts<U>,
  ctx: IbUcontext,
  kind: UmemOdpKind,
  address: number,
  length: number,
  pageShift: number,
  access: number,
  root?: U,
): U {
  const umem = new parts.Umem({
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

/** get_per_mm and add_umem_to_per_mm for a new umem; frees it on failure. */
function* initUmem<U extends PerMmUmem<U>>(parts: PerMmDesignParts<U>, umem: U): KGen<U | number> {
  const ret = yield* parts.getPerMm(umem);
  if (ret !== 0) {
    mmdrop(umem.owningMm);
    umem.context.k.kasan.free(umem);
    return ret;
  }
  yield* addUmemToPerMm(umem);
  return umem;
}

/**
 * A child of an implicit root: it joins the root's per_mm and its tree, so no notifier
 * is registered for it and the fault worker creating it takes no mm_users; a child made
 * after exit_mmap fails at its first map, whose liveness check does fail.
 */
function* ibUmemOdpAllocChild<U extends PerMmUmem<U>>(
  parts: PerMmDesignParts<U>,
  root: U,
  addr: number,
  size: number,
): KGen<U | number> {
  // The caller must keep `root` alive for the duration (it holds the parent MR).
  if (root.kind !== "implicit_root") return EINVAL;
  const perMm = root.perMm;
  if (perMm === null) throw new Error("implicit root without its per_mm");
  const k = root.context.k;
  if (!k.kasan.check(perMm, `${parts.allocChildSite} shares the root's per_mm`)) return EFAULT;
  const child = newUmem(
    parts,
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
}
