/**
 * The pieces of an mlx5 implicit ODP MR every design shares: the size each child covers
 * (one KSM slot of the parent), the KSM parent mkey over the user address space, and a
 * child's MTT mkey over its slot.
 *
 * Models the MLX5_IMR_* constants, mlx5_imr_ksm_entries and the mkey shapes made by
 * implicit_mr_alloc / mlx5_ib_alloc_implicit_mr / implicit_get_child_mr of
 * drivers/infiniband/hw/mlx5/odp.c (the same in v5.3 and v6.x).
 */
import { TASK_SIZE } from "../../../mm/mmStruct.ts";
import { PAGE_SHIFT } from "../../../mm/page.ts";
import { Mlx5Mkey } from "../mkey.ts";
import { MLX5_IMR_MTT_SIZE, type Mlx5IbDev } from "../mlx5IbDev.ts";
import type { Mlx5IbMr } from "../mlx5IbMr.ts";

export { MLX5_IMR_MTT_SIZE };

/** Sets the size an implicit child covers on `dev` (a power of two, >= 2 MiB). */
export function mlx5SetImrMttSize(dev: Mlx5IbDev, bytes: number): void {
  if (!Number.isSafeInteger(bytes) || bytes < 2 ** 21 || !Number.isInteger(Math.log2(bytes))) {
    throw new RangeError(`implicit child size must be a power of two >= 2 MiB, got ${bytes}`);
  }
  dev.imrMttSize = bytes;
}

/** MLX5_IMR_MTT_SIZE of `dev`. */
export function mlx5ImrMttSize(dev: Mlx5IbDev): number {
  return dev.imrMttSize;
}

/** mlx5_imr_ksm_entries: KSM slots of an implicit MR, the user address space / child size. */
export function mlx5ImrKsmEntries(dev: Mlx5IbDev): number {
  return TASK_SIZE / mlx5ImrMttSize(dev);
}

/** The KSM slot of the parent an implicit child fills. */
export function implicitChildSlot(mr: Mlx5IbMr): number {
  return Math.floor(mr.iova / mr.length);
}

/** The parent's mkey: a KSM over [0, TASK_SIZE), every slot at the null mkey. */
export function newImplicitKsmMkey(dev: Mlx5IbDev, pdn: number): Mlx5Mkey {
  const size = mlx5ImrMttSize(dev);
  const len = mlx5ImrKsmEntries(dev) * size;
  return new Mlx5Mkey(dev.allocKey(), "ksm", pdn, 0, len, PAGE_SHIFT, size);
}

/** A child's mkey: an MTT of 4 KiB pages over KSM slot `idx`. */
export function newImplicitChildMkey(dev: Mlx5IbDev, pdn: number, idx: number): Mlx5Mkey {
  const size = mlx5ImrMttSize(dev);
  const mkey = new Mlx5Mkey(dev.allocKey(), "mtt", pdn, idx * size, size, PAGE_SHIFT);
  mkey.reachedThroughKsm = true;
  return mkey;
}
