/**
 * The driver's part of an ODP design, behind one interface: registering and destroying
 * ODP MRs, handling a device page fault, and reacting to an invalidation.
 *
 * Models the design-dependent parts of drivers/infiniband/hw/mlx5/odp.c and mr.c.
 * Each generation (classic, hmm-mirror, interval) implements it in its own module.
 */
import type { Kernel } from "../../../sim/kernel.ts";
import type { KGen } from "../../../sim/task.ts";
import type { IbPd } from "../../core/ibPd.ts";
import type { UmemOdpDesign } from "../../core/odp/umemOdpDesign.ts";
import type { IbUcontext } from "../../core/ucontext.ts";
import type { IbUmemOdp } from "../../core/umemOdp.ts";
import type { Mlx5IbDev } from "../mlx5IbDev.ts";
import { isMlx5IbMr, type Mlx5IbMr } from "../mlx5IbMr.ts";
import type { BytesMapped } from "./pageCount.ts";

/** MLX5_PF_FLAGS_*: how a fault was raised. */
export interface PagefaultFlags {
  /** The access needs write (a responder RDMA WRITE, a receive into the buffer). */
  readonly write: boolean;
  /** A prefetch (advise_mr) rather than a hardware fault. */
  readonly prefetch?: boolean;
  /** MLX5_PF_FLAGS_DOWNGRADE: map read-only. */
  readonly downgrade?: boolean;
  /** MLX5_PF_FLAGS_SNAPSHOT: map only pages already present (PREFETCH_NO_FAULT). */
  readonly snapshot?: boolean;
}

/**
 * `U`: the design's umem type, as in UmemOdpDesign<U>. The MRs it makes and is handed
 * back carry that umem (Mlx5IbMr<U>), so the design needs no downcast.
 */
export interface Mlx5OdpDesign<U extends IbUmemOdp = IbUmemOdp> {
  readonly core: UmemOdpDesign<U>;
  /** Puts the simulated kernel in this design's era (e.g. which lockdep maps exist). */
  kernelSetup(k: Kernel): void;
  /** Driver setup when a process opens the device (sets ucontext->invalidate_range). */
  allocUcontext(dev: Mlx5IbDev, ctx: IbUcontext): void;
  /** reg_user_mr for an ODP MR (explicit or implicit). */
  regOdpMr(
    dev: Mlx5IbDev,
    pd: IbPd,
    start: number,
    length: number,
    access: number,
  ): KGen<Mlx5IbMr<U> | number>;
  /** dereg_mr of an ODP MR, in the design's order. */
  deregOdpMr(mr: Mlx5IbMr<U>): KGen<number>;
  /**
   * pagefault_single_data_segment(): resolve a fault of [va, va + bcnt) on `key`; returns
   * >= 0 on success, -EAGAIN (resume, the device retries) or a fatal errno. What success
   * returns is the kernel's era (pageCount.ts): the PAGE_SIZE pages mapped up to v6.13, 0
   * since "RDMA/mlx5: Fix indirect mkey ODP page count" moved the page-count check in here.
   * `bytesMapped` (the WQE path's *bytes_mapped; absent or null for NULL) gains the bytes
   * of [va, va + bcnt) now mapped.
   */
  pagefaultSingleDataSegment(
    dev: Mlx5IbDev,
    pd: IbPd | null,
    key: number,
    va: number,
    bcnt: number,
    flags: PagefaultFlags,
    bytesMapped?: BytesMapped | null,
  ): KGen<number>;
  /**
   * How get_prefetchable_mr() holds an MR for prefetch, where the design's kernel takes a
   * reference its dereg waits for (v5.13+: mmkey.usecount, taken under the xa_lock of the
   * lookup). Absent: the SRCU era's num_pending_prefetch, which dereg flushes.
   */
  readonly prefetchHold?: PrefetchHold<U>;
}

/** A reference on an MR that dereg waits for. */
export interface PrefetchHold<U extends IbUmemOdp = IbUmemOdp> {
  /** Take it, in the step of the lookup; false if the MR is being destroyed. */
  get(mr: Mlx5IbMr<U>): boolean;
  /** Drop it (destroy_prefetch_work, the end of a synchronous prefetch). */
  put(mr: Mlx5IbMr<U>): void;
}

/**
 * The MR a fault names by key, typed as the design's: a device is registered with one
 * design (mlx5IbRegisterDevice), so every ODP MR in its table has that design's umem;
 * a pinned MR has none.
 */
export function designMrByKey<U extends IbUmemOdp>(
  dev: Mlx5IbDev,
  key: number,
): Mlx5IbMr<U> | undefined {
  return dev.mrs.get(key) as Mlx5IbMr<U> | undefined;
}

/**
 * umem_odp->private: the MR the design set there once it was set up (null before),
 * typed as the design's, as designMrByKey is.
 */
export function mrOfUmem<U extends IbUmemOdp>(umem: U): Mlx5IbMr<U> | null {
  const mr = umem.driverPrivate;
  return isMlx5IbMr(mr) ? (mr as Mlx5IbMr<U>) : null;
}
