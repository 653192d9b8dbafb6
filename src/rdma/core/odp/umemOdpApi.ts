/**
 * The exported umem_odp API of today's kernel, for a driver written against odpsim's
 * public entry: ib_umem_odp_get(), ib_umem_odp_release(), ib_umem_odp_map_dma_and_lock()
 * and ib_umem_odp_unmap_dma_pages().
 *
 * Models the EXPORT_SYMBOLs of drivers/infiniband/core/umem_odp.c as of v6.13: the
 * interval design (intervalDesign.ts, intervalUmemOdp.ts), whatever mlx5 design the
 * device runs, since a user's driver builds on the kernel it targets, not on a past
 * generation. (ib_umem_odp_map_dma_pages() is the name of v4.x-v5.9, the classic design's
 * ibUmemOdpMapDmaPages; v5.10 replaced it with map_dma_and_lock.) The contract is the
 * kernel's: map_dma_and_lock returns with umem_mutex held when it mapped pages, unmap
 * needs it held, and the ops' invalidate runs under the interval notifier.
 */
import type { KGen } from "../../../sim/task.ts";
import type { IbUcontext } from "../ucontext.ts";
import { intervalDesign } from "./intervalDesign.ts";
import type { IntervalUmemOdp } from "./intervalUmemOdp.ts";
import type { UmemOdpDriverOps } from "./umemOdpDesign.ts";

export { ibUmemOdpMapDmaAndLock } from "./intervalUmemOdp.ts";

/**
 * ib_umem_odp_get(): an ODP umem over [addr, addr + size) of the context's mm, its
 * interval notifier inserted; `ops.invalidate` is the driver's (it must set the
 * notifier's sequence and drop the pages, under umem_mutex). A negative errno on error.
 */
export function ibUmemOdpGet(
  ctx: IbUcontext,
  addr: number,
  size: number,
  access: number,
  ops: UmemOdpDriverOps<IntervalUmemOdp> = {},
): KGen<IntervalUmemOdp | number> {
  return intervalDesign.get(ctx, addr, size, access, ops);
}

/** ib_umem_odp_release(): unmap everything, remove the notifier, free the umem. */
export function ibUmemOdpRelease(umem: IntervalUmemOdp): KGen {
  return intervalDesign.release(umem);
}

/**
 * ib_umem_odp_unmap_dma_pages(): drop the DMA mappings of [virt, bound), dirtying the
 * pages the device could write. The caller holds umem_mutex.
 */
export function ibUmemOdpUnmapDmaPages(umem: IntervalUmemOdp, virt: number, bound: number): KGen {
  return intervalDesign.unmapDmaPages(umem, virt, bound);
}
