/**
 * The driver side of the hmm-mirror design: pagefault_mr and mlx5_ib_invalidate_range
 * exactly as seed 002 ("RDMA/odp: convert to use HMM for ODP" v5) posts them.
 *
 * Models drivers/infiniband/hw/mlx5/odp.c after that patch:
 *
 *     fault                                      invalidation (sync_cpu_device_pagetables)
 *     hmm_range_register(range)  (valid unless   hmm: range->valid = false for
 *                                 one is running)     overlapping ranges
 *     ib_umem_odp_map_dma_pages(range)            zap MTT blocks, unmap the pages
 *       mmap_sem; umem_mutex; hmm_range_dma_map
 *     lock umem_mutex
 *     hmm_range_valid(range)? update MTT : -EAGAIN
 *     unlock; hmm_range_unregister
 *     -EAGAIN: wait_until_valid ... unless (!implicit || dying): -EFAULT
 *
 * Kept as posted: the -EAGAIN path turns every retry of an explicit MR into -EFAULT
 * (the test reads `!implicit || odp->dying` where the code it replaced read
 * `implicit || !odp->dying`), so a fault raced by any invalidation kills the QP; and
 * io_virt is page-aligned before its offset is taken, so `off` is always 0.
 */
import { EAGAIN, EFAULT, EINVAL } from "../../../sim/errno.ts";
import type { KGen } from "../../../sim/task.ts";
import { setInvalidateStartMap, setPairEndsOnFailedStart } from "../../../mm/notifier/srcu.ts";
import {
  hmmRangeInit,
  hmmRangeRegister,
  hmmRangeUnregister,
  hmmRangeValid,
  hmmRangeWaitUntilValid,
} from "../../../mm/notifier/hmmMirror.ts";
import {
  hmmMirrorDesign,
  hmmUnmapDmaPages,
  ibUmemOdpMapDmaPagesHmm,
} from "../../core/odp/hmmMirrorDesign.ts";
import { HmmMirrorUmemOdp, ODP_READ_BIT, ODP_WRITE_BIT } from "../../core/odp/hmmMirrorUmemOdp.ts";
import { ibUmemEnd, ibUmemStart, type IbUmemOdp } from "../../core/umemOdp.ts";
import { Mlx5IbMr } from "../mlx5IbMr.ts";
import { MLX5_IB_UPD_XLT_ZAP, mlx5IbUpdateXlt } from "../umr.ts";
import { MMU_NOTIFIER_TIMEOUT_NS } from "./classicOdp.ts";
import { zapBlocks } from "./zapBlocks.ts";
import type { Mlx5OdpDesign, PagefaultFlags } from "./mlx5OdpDesign.ts";
import {
  deregOdpMrSrcuEra,
  pagefaultSingleDataSegmentSrcuEra,
  regOdpMrSrcuEra,
} from "./srcuEraMr.ts";

/** mlx5_ib_invalidate_range(), seed 002: zap the blocks HMM marked readable, unmap. */
export function* mlx5IbInvalidateRangeHmm(umem: IbUmemOdp, start: number, end: number): KGen {
  const k = umem.context.k;
  if (!k.kasan.check(umem, "mlx5_ib_invalidate_range reads umem->private")) return;
  const mr = umem.driverPrivate;
  if (!(mr instanceof Mlx5IbMr) || !(umem instanceof HmmMirrorUmemOdp)) return;
  if (!k.kasan.check(mr, "mlx5_ib_invalidate_range uses mr")) return;
  const from = Math.max(ibUmemStart(umem), start);
  const to = Math.min(ibUmemEnd(umem), end);
  if (from >= to) return;
  for (const [blkStart, count] of zapBlocks(umem, from, to)) {
    yield* mlx5IbUpdateXlt(mr, blkStart, count, MLX5_IB_UPD_XLT_ZAP);
  }
  yield* hmmUnmapDmaPages(umem, from, to);
}

/** pagefault_mr() as posted, for an explicit MR. */
function* pagefaultMr(
  mr: Mlx5IbMr,
  ioVirtIn: number,
  bcnt: number,
  flags: PagefaultFlags,
): KGen<number> {
  const k = mr.dev.k;
  const odp = mr.umem;
  if (!(odp instanceof HmmMirrorUmemOdp) || odp.perMm === null) return EINVAL;
  if (!k.kasan.check(odp, "pagefault_mr reads the umem")) return EFAULT;
  const implicit = odp.kind === "implicit_child";
  const size = Math.min(bcnt, ibUmemEnd(odp) - ioVirtIn);
  const pageSize = odp.pageSize;
  const ioVirt = Math.floor(ioVirtIn / pageSize) * pageSize;
  const off = ioVirt % pageSize; // as posted: taken after aligning, so always 0
  const faultSize = Math.ceil((size + off) / pageSize) * pageSize;
  if (ioVirt < ibUmemStart(odp)) return EINVAL;
  const startIdx = (ioVirt - Math.floor(mr.iova / pageSize) * pageSize) / pageSize;
  const range = hmmRangeInit();
  let ret = yield* hmmRangeRegister(range, odp.perMm.mm, ioVirt, ioVirt + faultSize, odp.pageShift);
  if (ret !== 0) return ret;
  if (flags.prefetch === true && flags.downgrade !== true && !odp.writable && flags.write) {
    yield* hmmRangeUnregister(range);
    return EINVAL;
  }
  range.defaultFlags = ODP_READ_BIT;
  if (odp.writable && flags.downgrade !== true) range.defaultFlags |= ODP_WRITE_BIT;
  ret = yield* ibUmemOdpMapDmaPagesHmm(odp, range);
  if (ret >= 0) {
    const np = ret;
    yield* odp.umemMutex.lock();
    if (hmmRangeValid(range)) ret = yield* mlx5IbUpdateXlt(mr, startIdx, np, 0);
    else ret = EAGAIN;
    odp.umemMutex.unlock();
    if (ret >= 0) {
      yield* hmmRangeUnregister(range);
      return np;
    }
  }
  if (ret === EAGAIN) {
    // As posted: `!implicit || odp->dying`, so an explicit MR never waits.
    if (!implicit || odp.dying) {
      ret = EFAULT;
    } else if (!(yield* hmmRangeWaitUntilValid(range, MMU_NOTIFIER_TIMEOUT_NS / 1_000_000))) {
      k.event("mlx5_ib_warn", { msg: "timeout waiting for mmu notifier" });
    }
  }
  yield* hmmRangeUnregister(range);
  return ret;
}

export const hmmMirrorMlx5Odp: Mlx5OdpDesign = {
  core: hmmMirrorDesign,

  kernelSetup(k) {
    // The posting sits on v5.2-rc1: no invalidate_range_start lockdep map, no pairing
    // of ends after a failed non-blockable start.
    setInvalidateStartMap(k, false);
    setPairEndsOnFailedStart(k, false);
  },

  allocUcontext(_dev, ctx) {
    ctx.invalidateRange = mlx5IbInvalidateRangeHmm;
  },

  regOdpMr: (dev, pd, start, length, access) =>
    regOdpMrSrcuEra(hmmMirrorDesign, dev, pd, start, length, access),

  deregOdpMr: (mr) => deregOdpMrSrcuEra(mr, hmmMirrorDesign, mlx5IbInvalidateRangeHmm),

  pagefaultSingleDataSegment: (dev, pd, key, va, bcnt, flags) =>
    pagefaultSingleDataSegmentSrcuEra(dev, pd, key, va, bcnt, flags, pagefaultMr),
};
