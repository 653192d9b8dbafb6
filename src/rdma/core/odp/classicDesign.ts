/**
 * The classic design's creation, unmap and release paths.
 *
 * Models ib_umem_odp_get / ib_umem_odp_alloc_implicit / ib_umem_odp_alloc_child /
 * ib_umem_odp_unmap_dma_pages / ib_umem_odp_release of drivers/infiniband/core/
 * umem_odp.c, v5.3 with seed 000 applied. In this generation unmap takes umem_mutex
 * itself, so the driver's zap of the device page table (before it) and the DMA unmap
 * are two separate holds of the mutex; the interval design lifted the mutex out.
 */
import { EFAULT, EINVAL } from "../../../sim/errno.ts";
import type { KGen } from "../../../sim/task.ts";
import { mmdrop, mmgetNotZero, mmgrab, mmput } from "../../../mm/mmStruct.ts";
import { IB_ACCESS_HUGETLB, ibAccessWritable } from "../ibVerbs.ts";
import type { IbUcontext } from "../ucontext.ts";
import { ibUmemEnd, ibUmemStart, type UmemOdpKind } from "../umemOdp.ts";
import { ClassicUmemOdp } from "./classicUmemOdp.ts";
import { addUmemToPerMm, getPerMm, putPerMm, removeUmemFromPerMm } from "./classicPerMm.ts";
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
    ...(root === undefined ? {} : { root }),
  });
  mmgrab(ctx.mm);
  return umem;
}

/** ib_umem_odp_unmap_dma_pages(), v5.3: takes umem_mutex itself. */
export function* classicUnmapDmaPages(umem: ClassicUmemOdp, virt: number, bound: number): KGen {
  yield* umem.umemMutex.lock();
  unmapDmaPagesLocked(umem, virt, bound);
  umem.umemMutex.unlock();
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
    return yield* initUmem(newUmem(ctx, "implicit_root", 0, 0, 12, access));
  },

  *allocChild(root, addr, size) {
    // The caller must keep `root` alive for the duration (it holds the parent MR).
    if (root.kind !== "implicit_root") return EINVAL;
    const child = newUmem(root.context, "implicit_child", addr, size, 12, root.access, root);
    // Catalog defect implicit-child-no-mmget: before "RDMA/odp: Ensure the mm is still
    // alive before creating an implicit child", the child's notifier registration raced
    // exit_mmap without holding mm_users.
    const needsGet = !root.context.k.hasDefect("implicit-child-no-mmget");
    if (needsGet && !mmgetNotZero(child.owningMm)) {
      mmdrop(child.owningMm);
      root.context.k.kasan.free(child);
      return EFAULT;
    }
    const ret = yield* initUmem(child);
    if (needsGet) yield* mmput(child.owningMm);
    return ret;
  },

  unmapDmaPages: classicUnmapDmaPages,

  *release(umem) {
    if (!umem.isImplicitOdp) yield* classicUnmapDmaPages(umem, ibUmemStart(umem), ibUmemEnd(umem));
    yield* removeUmemFromPerMm(umem);
    yield* putPerMm(umem);
    mmdrop(umem.owningMm);
    umem.context.k.kasan.free(umem);
  },
};
