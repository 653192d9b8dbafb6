/**
 * The per-mm tree of umems, shared by the two designs that keep one (classic and
 * hmm-mirror): add_umem_to_per_mm() and remove_umem_from_per_mm() of
 * drivers/infiniband/core/umem_odp.c (v5.2/v5.3), both under umem_rwsem for write so
 * that no invalidation walks the tree while it changes.
 */
import type { RwSemaphore } from "../../../sim/sync/rwsem.ts";
import type { KGen } from "../../../sim/task.ts";
import type { IntervalTree, IntervalTreeNode } from "../../../mm/intervalTree.ts";
import { ibUmemEnd, ibUmemStart, type IbUmemOdp } from "../umemOdp.ts";

/** What a per_mm offers for its tree. */
export interface PerMmTree<U> {
  readonly umemTree: IntervalTree<U>;
  readonly umemRwsem: RwSemaphore;
}

/** A umem that lives in a per_mm tree. */
export interface TreeUmem<U> extends IbUmemOdp {
  treeNode: IntervalTreeNode<U> | null;
}

/** add_umem_to_per_mm(): an implicit root has no range and stays out of the tree. */
export function* addUmemToPerMmTree<U extends TreeUmem<U>>(perMm: PerMmTree<U>, umem: U): KGen {
  yield* perMm.umemRwsem.downWrite();
  if (!umem.isImplicitOdp) {
    umem.treeNode = perMm.umemTree.insert(ibUmemStart(umem), ibUmemEnd(umem) - 1, umem);
  }
  perMm.umemRwsem.upWrite();
}

/** remove_umem_from_per_mm(); `whileLocked` runs before umem_rwsem is released. */
export function* removeUmemFromPerMmTree<U extends TreeUmem<U>>(
  perMm: PerMmTree<U>,
  umem: U,
  whileLocked?: () => void,
): KGen {
  yield* perMm.umemRwsem.downWrite();
  if (umem.treeNode !== null) {
    perMm.umemTree.remove(umem.treeNode);
    umem.treeNode = null;
  }
  whileLocked?.();
  perMm.umemRwsem.upWrite();
}
