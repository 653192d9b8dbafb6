/**
 * The classic design's creation, unmap and release paths.
 *
 * Models ib_umem_odp_get / ib_umem_odp_alloc_implicit / ib_umem_odp_alloc_child /
 * ib_umem_odp_unmap_dma_pages / ib_umem_odp_release of drivers/infiniband/core/
 * umem_odp.c, v5.3 with seed 000 applied. The creation and release paths are the
 * per_mm designs' (perMmDesign.ts): each child of an implicit root shares the root's
 * per_mm and sits in its tree, so invalidations reach children through the one
 * mmu_notifier.
 *
 * v5.3's unmap took umem_mutex itself, so the driver zapped the device page table under
 * one hold and the DMA unmap ran under another; "RDMA/odp: Lift umem_mutex out of
 * ib_umem_odp_unmap_dma_pages()" (v5.4-rc) made the caller hold it across both. The
 * model runs the fixed form; catalog defect #14 (ODP_UNMAP_TAKES_MUTEX) restores v5.3.
 */
import type { KGen } from "../../../sim/task.ts";
import { ClassicUmemOdp } from "./classicUmemOdp.ts";
import { completeRemovedUmem, getPerMm } from "./classicPerMm.ts";
import { perMmDesign } from "./perMmDesign.ts";
import { unmapDmaPagesLocked } from "./unmapDmaPages.ts";
import type { UmemOdpDesign } from "./umemOdpDesign.ts";

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

/**
 * v5.3's IB core: classic umems on an mmu_notifier per_mm. A child is made by
 * ib_umem_odp_alloc_child (seed 000), with no mmu_notifier of its own: mmget_not_zero
 * came with the per-umem interval notifiers (catalog defect implicit-child-no-mmget is
 * the interval design's), so a child made after exit_mmap fails at its first map, whose
 * mmget_not_zero does fail.
 */
export const classicDesign: UmemOdpDesign<ClassicUmemOdp> = perMmDesign({
  name: "classic",
  Umem: ClassicUmemOdp,
  getPerMm,
  onRemoveFromTree: completeRemovedUmem,
  unmapDmaPages: classicUnmapDmaPagesLocking,
  allocChildSite: "ib_umem_odp_alloc_child",
});
