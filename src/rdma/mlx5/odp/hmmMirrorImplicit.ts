/**
 * Implicit ODP MRs of the hmm-mirror design, as seed 002 posts them: the posting left
 * mlx5's implicit scheme of its v5.2 base alone (children in the per_mm tree,
 * implicit_mr_get_data, mr_leaf_free_action, mr_leaf_free, mlx5_ib_free_implicit_mr), so
 * it runs here on the hmm_mirror per_mm through perMmImplicit.ts.
 *
 * Models the implicit parts of drivers/infiniband/hw/mlx5/odp.c after "RDMA/odp: convert
 * to use HMM for ODP" v5. What the hmm-mirror IB core brings: ib_umem_odp_unmap_dma_pages()
 * takes umem_mutex itself (as on v5.2), so mr_leaf_free reads and writes `dying` outside
 * it, and mlx5_ib_invalidate_range() tests an emptied child after the unmap dropped the
 * mutex, as v5.3 did (classic catalog defect #14's shape, here as posted); and
 * mr_leaf_free_action releases a child before it rewrites the KSM slot, with no lock
 * (classic catalog defect #20's shape, as posted).
 */
import type { KGen } from "../../../sim/task.ts";
import type { IbPd } from "../../core/ibPd.ts";
import { hmmMirrorDesign, hmmUnmapDmaPages } from "../../core/odp/hmmMirrorDesign.ts";
import type { HmmMirrorUmemOdp } from "../../core/odp/hmmMirrorUmemOdp.ts";
import type { Mlx5IbDev } from "../mlx5IbDev.ts";
import type { Mlx5IbMr } from "../mlx5IbMr.ts";
import * as perMmImplicit from "./perMmImplicit.ts";
import type { PerMmImplicitCore } from "./perMmImplicit.ts";
import type { SrcuEraImplicit } from "./srcuEraMr.ts";

/** The hmm-mirror IB core as implicit MRs use it. */
export const hmmMirrorImplicitCore: PerMmImplicitCore<HmmMirrorUmemOdp> = {
  design: hmmMirrorDesign,
  unmapTakesMutex: () => true,
  unmapDmaPages: hmmUnmapDmaPages,
  ksmUpdateUnlocked: () => true,
};

/** implicit_mr_get_data() over the hmm-mirror per_mm tree. */
export function implicitMrGetDataHmm(
  imr: Mlx5IbMr<HmmMirrorUmemOdp>,
  ioVirt: number,
  bcnt: number,
): KGen<HmmMirrorUmemOdp | number> {
  return perMmImplicit.implicitMrGetData(hmmMirrorImplicitCore, imr, ioVirt, bcnt);
}

/** odp_next() over the hmm-mirror per_mm tree. */
export function implicitOdpNextHmm(odp: HmmMirrorUmemOdp): KGen<HmmMirrorUmemOdp | null> {
  return perMmImplicit.implicitOdpNext(odp);
}

/** The emptied-child tail of mlx5_ib_invalidate_range(), after the unmap's mutex. */
export function mlx5ImplicitChildEmptiedHmm(
  odp: HmmMirrorUmemOdp,
  mr: Mlx5IbMr<HmmMirrorUmemOdp>,
): KGen {
  return perMmImplicit.mlx5ImplicitChildEmptiedUnlocked(odp, mr);
}

/** srcuEraMr's implicit hooks for the hmm-mirror design. */
export const hmmMirrorImplicit: SrcuEraImplicit<HmmMirrorUmemOdp> = {
  allocImplicitMr: (dev: Mlx5IbDev, pd: IbPd, access: number) =>
    perMmImplicit.mlx5IbAllocImplicitMr(hmmMirrorImplicitCore, dev, pd, access),
  freeImplicitMr: (imr: Mlx5IbMr<HmmMirrorUmemOdp>) =>
    perMmImplicit.mlx5IbFreeImplicitMr(hmmMirrorImplicitCore, imr),
};
