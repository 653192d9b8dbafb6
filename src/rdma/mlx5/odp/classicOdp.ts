/**
 * The driver side of the classic design: seed 001's interlock in the page-fault path,
 * the MTT zap in aligned UMR blocks, the `live` flag and mr_srcu, and the destroy order.
 *
 * Models drivers/infiniband/hw/mlx5/odp.c and mr.c as of v5.3 (seed 001's logic):
 *
 *     fault (kworker, under mr_srcu)          invalidation (notifier, umem_rwsem read)
 *     mr = lookup(key); mr->live?             start_account (count++)
 *     seq = notifiers_seq                     zap MTT blocks that are mapped
 *     ib_umem_odp_map_dma_pages(seq)          ib_umem_odp_unmap_dma_pages (umem_mutex)
 *     lock umem_mutex                         ...
 *     retry(seq)? -EAGAIN : update MTT        end_account (seq++, count--)
 *     unlock umem_mutex
 *     -EAGAIN: wait notifier_completion (1000 ms) unless dying (-EFAULT)
 *
 * Destroy: live = 0; synchronize_srcu(mr_srcu); zap + unmap everything; release the
 * umem (leaves the notifier tree); only then destroy the mkey (synchronize_srcu again)
 * and free the MR: "We kill the umem before the MR for ODP, so that there will not be
 * any invalidations in flight, looking at the *mr struct."
 */
import { EAGAIN, EFAULT, EINVAL } from "../../../sim/errno.ts";
import { NSEC_PER_MSEC } from "../../../sim/clock.ts";
import type { KGen } from "../../../sim/task.ts";
import { setInvalidateStartMap, setPairEndsOnFailedStart } from "../../../mm/notifier/srcu.ts";
import { classicDesign } from "../../core/odp/classicDesign.ts";
import {
  ClassicUmemOdp,
  ibUmemMmuNotifierRetry,
  ibUmemOdpMapDmaPages,
} from "../../core/odp/classicUmemOdp.ts";
import type { IbUcontext } from "../../core/ucontext.ts";
import {
  ODP_READ_ALLOWED_BIT,
  ODP_WRITE_ALLOWED_BIT,
  ibUmemEnd,
  ibUmemStart,
  type IbUmemOdp,
} from "../../core/umemOdp.ts";
import { Mlx5IbMr } from "../mlx5IbMr.ts";
import {
  deregOdpMrSrcuEra,
  pagefaultSingleDataSegmentSrcuEra,
  regOdpMrSrcuEra,
} from "./srcuEraMr.ts";
import { MLX5_IB_UPD_XLT_ZAP, mlx5IbUpdateXlt } from "../umr.ts";
import type { Mlx5OdpDesign, PagefaultFlags } from "./mlx5OdpDesign.ts";
import { zapBlocks } from "./zapBlocks.ts";

/** MMU_NOTIFIER_TIMEOUT: how long a fault waits for a racing invalidation. */
export const MMU_NOTIFIER_TIMEOUT_NS = 1000 * NSEC_PER_MSEC;

/** mlx5_ib_invalidate_range(), v5.3: zap mapped MTT blocks, then unmap the pages. */
export function* mlx5IbInvalidateRange(umem: IbUmemOdp, start: number, end: number): KGen {
  const k = umem.context.k;
  if (!k.kasan.check(umem, "mlx5_ib_invalidate_range reads umem->private")) return;
  const mr = umem.driverPrivate;
  if (!(mr instanceof Mlx5IbMr)) return;
  if (!k.kasan.check(mr, "mlx5_ib_invalidate_range uses mr")) return;
  const from = Math.max(ibUmemStart(umem), start);
  const to = Math.min(ibUmemEnd(umem), end);
  if (from >= to) return;
  for (const [blkStart, count] of zapBlocks(umem, from, to)) {
    yield* mlx5IbUpdateXlt(mr, blkStart, count, MLX5_IB_UPD_XLT_ZAP);
  }
  // The device no longer sees the pages: unmap them and mark written ones dirty.
  if (umem instanceof ClassicUmemOdp) yield* classicDesign.unmapDmaPages(umem, from, to);
}

/** pagefault_mr(), classic: one explicit ODP MR. Returns pages mapped or an errno. */
function* pagefaultMr(mr: Mlx5IbMr, va: number, bcnt: number, flags: PagefaultFlags): KGen<number> {
  const k = mr.dev.k;
  const odp = mr.umem;
  if (!(odp instanceof ClassicUmemOdp)) return EINVAL;
  if (!k.kasan.check(odp, "pagefault_mr reads the umem")) return EFAULT;
  const size = Math.min(bcnt, ibUmemEnd(odp) - va);
  const startIdx = Math.floor((va - mr.iova) / odp.pageSize);
  if (flags.prefetch === true && flags.downgrade !== true && !odp.writable && flags.write)
    return EINVAL;
  let accessMask = ODP_READ_ALLOWED_BIT;
  if (odp.writable && flags.downgrade !== true) accessMask |= ODP_WRITE_ALLOWED_BIT;
  const currentSeq = odp.notifiersSeq;
  yield "read notifiers_seq";
  let ret = yield* ibUmemOdpMapDmaPages(odp, va, size, accessMask, currentSeq);
  if (ret >= 0) {
    const np = ret;
    if (!k.kasan.check(odp, "pagefault_mr locks odp->umem_mutex")) return EFAULT;
    yield* odp.umemMutex.lock();
    // Catalog defect classic-no-retry-check: without seed 001's check, a fault whose
    // pages an invalidation already zapped and unmapped writes them into the MTT.
    if (k.hasDefect("classic-no-retry-check") || !ibUmemMmuNotifierRetry(odp, currentSeq)) {
      ret = yield* mlx5IbUpdateXlt(mr, startIdx, np, 0);
    } else {
      ret = EAGAIN;
    }
    odp.umemMutex.unlock();
    if (ret >= 0) return np;
  }
  if (ret === EAGAIN) {
    if (!odp.dying) {
      const left = yield* odp.notifierCompletion.waitTimeout(MMU_NOTIFIER_TIMEOUT_NS);
      if (left === 0) k.event("mlx5_ib_warn", { msg: "timeout waiting for mmu notifier" });
    } else {
      // The MR is being killed: kill the QP as well.
      ret = EFAULT;
    }
  }
  return ret;
}

export const classicMlx5Odp: Mlx5OdpDesign = {
  core: classicDesign,

  kernelSetup(k) {
    // v5.3 predates the invalidate_range_start lockdep map (added in v5.4) and the
    // pairing of ends after a failed non-blockable start: its per-mm notifier holds
    // umem_rwsem from start to end, so it could not have lived with either.
    setInvalidateStartMap(k, false);
    setPairEndsOnFailedStart(k, false);
  },

  allocUcontext(_dev, ctx: IbUcontext) {
    ctx.invalidateRange = mlx5IbInvalidateRange;
  },

  regOdpMr: (dev, pd, start, length, access) =>
    regOdpMrSrcuEra(classicDesign, dev, pd, start, length, access),

  deregOdpMr: (mr) => deregOdpMrSrcuEra(mr, classicDesign, mlx5IbInvalidateRange),

  pagefaultSingleDataSegment: (dev, pd, key, va, bcnt, flags) =>
    pagefaultSingleDataSegmentSrcuEra(dev, pd, key, va, bcnt, flags, pagefaultMr),
};
