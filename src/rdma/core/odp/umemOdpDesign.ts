/**
 * The IB core's part of an ODP design, behind one interface: how a umem_odp is made,
 * how its DMA mappings are dropped, and how it is released.
 *
 * Models the exported API of drivers/infiniband/core/umem_odp.c, whose shape changed
 * between generations (classic v5.3, the 2019 HMM-mirror posting, interval v5.5+).
 * The fault side (how pages get mapped under the interlock) differs too much to share
 * a signature; each design exports its own and the driver's matching design module
 * calls it.
 */
import type { KGen } from "../../../sim/task.ts";
import type { MmuNotifierRange } from "../../../mm/notifier/subscriptions.ts";
import type { IbUmemOdp } from "../umemOdp.ts";
import type { IbUcontext } from "../ucontext.ts";

/** The generations, oldest first. */
export const ODP_DESIGN_NAMES = ["classic", "hmm-mirror", "interval"] as const;
export type OdpDesignName = (typeof ODP_DESIGN_NAMES)[number];

/** What the driver gives the IB core at umem creation (interval design: mni ops). */
export interface UmemOdpDriverOps<U extends IbUmemOdp = IbUmemOdp> {
  /** mmu_interval_notifier_ops.invalidate: false refuses a non-blockable range. */
  invalidate?(umem: U, range: MmuNotifierRange, curSeq: number): KGen<boolean>;
}

export interface UmemOdpDesign<U extends IbUmemOdp = IbUmemOdp> {
  readonly name: OdpDesignName;
  /** ib_umem_odp_get(): a normal ODP MR umem over [addr, addr + size). */
  get(
    ctx: IbUcontext,
    addr: number,
    size: number,
    access: number,
    ops: UmemOdpDriverOps<U>,
  ): KGen<U | number>;
  /** ib_umem_odp_alloc_implicit(): the root of an implicit ODP tree. */
  allocImplicit(ctx: IbUcontext, access: number, ops: UmemOdpDriverOps<U>): KGen<U | number>;
  /** ib_umem_odp_alloc_child(): a leaf of an implicit tree. */
  allocChild(root: U, addr: number, size: number, ops: UmemOdpDriverOps<U>): KGen<U | number>;
  /** ib_umem_odp_unmap_dma_pages(): drop DMA mappings of [virt, bound), dirtying written pages. */
  unmapDmaPages(umem: U, virt: number, bound: number): KGen;
  /** ib_umem_odp_release(): unmap everything, leave the notifier, free. */
  release(umem: U): KGen;
}
