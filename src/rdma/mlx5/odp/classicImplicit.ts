/**
 * Implicit ODP MRs of the classic design: a KSM parent over the whole address space
 * whose 1 GiB children live in the per_mm interval tree next to every other umem of the
 * process, found by walking that tree.
 *
 * Models the implicit parts of drivers/infiniband/hw/mlx5/odp.c as of v5.3 (with seed
 * 000's ib_umem_odp_alloc_implicit / ib_umem_odp_alloc_child). The driver code (check_parent,
 * odp_lookup, odp_next, mlx5_odp_populate_klm, implicit_mr_alloc, implicit_mr_get_data,
 * mlx5_ib_alloc_implicit_mr, mr_leaf_free_action, mr_leaf_free, mlx5_ib_free_implicit_mr)
 * is the same in the hmm-mirror posting and lives in perMmImplicit.ts; this file binds it
 * to the classic IB core. There is no children table in this era:
 *
 *   fault (kworker, under mr_srcu)           invalidation leaves a child empty
 *   lock parent umem_mutex                   dying = 1; num_leaf_free++; schedule_work
 *   odp_lookup / odp_next (umem_rwsem read,  mr_leaf_free_action (system_wq):
 *     child of this parent and not dying)      mr->parent = NULL (hides it from lookups)
 *   none: alloc_child (joins the tree),        synchronize_srcu(mr_srcu)
 *     implicit_mr_alloc (MTT mkey, live)       ib_umem_odp_release (leaves the tree)
 *   KSM update of the new slots                if parent live: KSM slot from the tree
 *   unlock; fault each child in turn           free the MTT mkey; num_leaf_free--
 *
 * Deregistration (after live = 0 and synchronize_srcu): mr_leaf_free over the whole
 * tree unmaps every child and queues the ones not yet dying, then waits for
 * num_leaf_free to reach zero; the caller releases the root umem and destroys the KSM.
 *
 * Kept as v5.3 had it: a fault that found the child before it went dying may still map
 * pages into it ("parallel page faults could have raced with the free process", fixed
 * by the v5.5 rework); mr_leaf_free unmaps a child's pages without zapping its MTT,
 * since the device is meant to be idle. Two v5.3/v5.4-rc fixes are in, each a catalog
 * defect that restores the code before it: the freeing work updates the KSM slot under
 * mr_srcu and the parent's umem_mutex before it releases the child (#20,
 * implicit-ksm-update-unlocked), and the mm's release does not mark the umems dying,
 * so the children it empties are queued for freeing (#21,
 * implicit-release-leaks-children: before it, deregistration after the process exited
 * left such children, and the per_mm, behind).
 */
import type { KGen } from "../../../sim/task.ts";
import type { IbPd } from "../../core/ibPd.ts";
import {
  classicDesign,
  classicUnmapDmaPages,
  unmapTakesMutex,
} from "../../core/odp/classicDesign.ts";
import type { ClassicUmemOdp } from "../../core/odp/classicUmemOdp.ts";
import type { Mlx5IbDev } from "../mlx5IbDev.ts";
import type { Mlx5IbMr } from "../mlx5IbMr.ts";
import * as perMmImplicit from "./perMmImplicit.ts";
import type { PerMmImplicitCore } from "./perMmImplicit.ts";

/**
 * The classic IB core as implicit MRs use it: ib_umem_odp_unmap_dma_pages() takes
 * umem_mutex itself only under catalog defect #14 (v5.3), else its caller holds it.
 */
export const classicImplicitCore: PerMmImplicitCore<ClassicUmemOdp> = {
  design: classicDesign,
  unmapTakesMutex,
  unmapDmaPages: classicUnmapDmaPages,
  ksmUpdateUnlocked: (k) => k.hasDefect(perMmImplicit.IMPLICIT_KSM_UPDATE_UNLOCKED),
};

/** odp_next() over the classic per_mm tree. */
export function implicitOdpNext(odp: ClassicUmemOdp): KGen<ClassicUmemOdp | null> {
  return perMmImplicit.implicitOdpNext(odp);
}

/** implicit_mr_get_data(), classic. */
export function implicitMrGetData(
  imr: Mlx5IbMr<ClassicUmemOdp>,
  ioVirt: number,
  bcnt: number,
): KGen<ClassicUmemOdp | number> {
  return perMmImplicit.implicitMrGetData(classicImplicitCore, imr, ioVirt, bcnt);
}

/** mlx5_ib_alloc_implicit_mr(), classic. */
export function mlx5IbAllocImplicitMr(
  dev: Mlx5IbDev,
  pd: IbPd,
  access: number,
): KGen<Mlx5IbMr<ClassicUmemOdp> | number> {
  return perMmImplicit.mlx5IbAllocImplicitMr(classicImplicitCore, dev, pd, access);
}

/** The emptied-child tail of mlx5_ib_invalidate_range() under umem_mutex. */
export function mlx5ImplicitChildEmptied(odp: ClassicUmemOdp, mr: Mlx5IbMr<ClassicUmemOdp>): void {
  perMmImplicit.mlx5ImplicitChildEmptied(odp, mr);
}

/** The same tail as v5.3 ran it (catalog defect #14), without the mutex. */
export function mlx5ImplicitChildEmptiedUnlocked(
  odp: ClassicUmemOdp,
  mr: Mlx5IbMr<ClassicUmemOdp>,
): KGen {
  return perMmImplicit.mlx5ImplicitChildEmptiedUnlocked(odp, mr);
}

/** mlx5_ib_free_implicit_mr(), classic. */
export function mlx5IbFreeImplicitMr(imr: Mlx5IbMr<ClassicUmemOdp>): KGen {
  return perMmImplicit.mlx5IbFreeImplicitMr(classicImplicitCore, imr);
}
