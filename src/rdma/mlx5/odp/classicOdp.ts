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
 *     -EAGAIN: wait notifier_completion (1000 ms)
 *
 * Destroy: live = 0; synchronize_srcu(mr_srcu); zap + unmap everything; release the
 * umem (leaves the notifier tree); only then destroy the mkey (synchronize_srcu again)
 * and free the MR: "We kill the umem before the MR for ODP, so that there will not be
 * any invalidations in flight, looking at the *mr struct."
 *
 * Implicit MRs (a KSM parent whose children sit in the per_mm tree) are in
 * classicImplicit.ts; here the fault walks the children it returns, and an
 * invalidation that empties a child queues the child's freeing.
 */
import { EAGAIN, EFAULT, EINVAL } from "../../../sim/errno.ts";
import { accessFields, objectId } from "../../../sim/objectAccess.ts";
import { NSEC_PER_MSEC } from "../../../sim/clock.ts";
import type { KGen } from "../../../sim/task.ts";
import { setInvalidateStartMap, setPairEndsOnFailedStart } from "../../../mm/notifier/srcu.ts";
import {
  classicDesign,
  classicUnmapDmaPages,
  unmapTakesMutex,
} from "../../core/odp/classicDesign.ts";
import { RELEASE_MARKS_DYING } from "../../core/odp/classicPerMm.ts";
import {
  ClassicUmemOdp,
  ibUmemMmuNotifierRetry,
  ibUmemOdpMapDmaPages,
  traceInterlock,
} from "../../core/odp/classicUmemOdp.ts";
import type { IbUcontext } from "../../core/ucontext.ts";
import {
  ODP_READ_ALLOWED_BIT,
  ODP_WRITE_ALLOWED_BIT,
  ibUmemEnd,
  sizeToUmemEnd,
  ibUmemStart,
  type IbUmemOdp,
} from "../../core/umemOdp.ts";
import type { Mlx5IbMr } from "../mlx5IbMr.ts";
import { addBytesMapped, osPages, setPageCountPerDirectMr, type BytesMapped } from "./pageCount.ts";
import { setPrefetchErrnos } from "../prefetch.ts";
import {
  deregOdpMrSrcuEra,
  pagefaultSingleDataSegmentSrcuEra,
  regOdpMrSrcuEra,
  type SrcuEraImplicit,
} from "./srcuEraMr.ts";
import {
  implicitMrGetData,
  implicitOdpNext,
  mlx5IbAllocImplicitMr,
  mlx5IbFreeImplicitMr,
  mlx5ImplicitChildEmptied,
  mlx5ImplicitChildEmptiedUnlocked,
} from "./classicImplicit.ts";
import { MLX5_IB_UPD_XLT_ZAP, mlx5IbUpdateXlt } from "../umr.ts";
import { mrOfUmem, type Mlx5OdpDesign, type PagefaultFlags } from "./mlx5OdpDesign.ts";
import { zapBlocks } from "./zapBlocks.ts";

/** An MR of this design: its umem is a classic umem. */
type ClassicMr = Mlx5IbMr<ClassicUmemOdp>;

/** MMU_NOTIFIER_TIMEOUT: how long a fault waits for a racing invalidation. */
export const MMU_NOTIFIER_TIMEOUT_NS = 1000 * NSEC_PER_MSEC;

/**
 * mlx5_ib_invalidate_range(): zap the mapped MTT blocks, unmap the pages (marking
 * written ones dirty), and queue the freeing of an implicit child left without pages,
 * all under one hold of umem_mutex. v5.3 (catalog defect #14) zapped under one hold,
 * unmapped under another and tested the child with none, so two invalidations of one
 * child could both queue its freeing ("RDMA/odp: Lift umem_mutex out of
 * ib_umem_odp_unmap_dma_pages()"):
 *
 *   CPU0 invalidate                      CPU1 invalidate
 *                                        unmap: npages drops to 0
 *                                        npages == 0 && !dying
 *   unmap: nothing left
 *   npages == 0 && !dying
 *   dying = 1; num_leaf_free++           dying = 1; num_leaf_free++
 *   schedule_work(&odp->work)            schedule_work(&odp->work)
 *                 one work counted twice: dereg waits for num_leaf_free forever
 */
export function* mlx5IbInvalidateRange(umem: ClassicUmemOdp, start: number, end: number): KGen {
  const k = umem.context.k;
  if (!k.kasan.check(umem, "mlx5_ib_invalidate_range reads umem->private")) return;
  const mr = mrOfUmem(umem);
  if (mr === null) return;
  traceUmemPrivate(umem, mr, "mlx5_ib_invalidate_range");
  if (!k.kasan.check(mr, "mlx5_ib_invalidate_range uses mr")) return;
  const from = Math.max(ibUmemStart(umem), start);
  const to = Math.min(ibUmemEnd(umem), end);
  if (from >= to) return;
  const split = unmapTakesMutex(umem);
  yield* umem.umemMutex.lock();
  for (const [blkStart, count] of zapBlocks(umem, from, to)) {
    yield* mlx5IbUpdateXlt(mr, blkStart, count, MLX5_IB_UPD_XLT_ZAP);
  }
  if (split) umem.umemMutex.unlock();
  // The device no longer sees the pages: unmap them and mark written ones dirty.
  yield* classicUnmapDmaPages(umem, from, to);
  if (split) {
    yield* mlx5ImplicitChildEmptiedUnlocked(umem, mr);
    return;
  }
  mlx5ImplicitChildEmptied(umem, mr);
  umem.umemMutex.unlock();
}

/** umem->private read on the way to the MR, for the trace. */
export function traceUmemPrivate(umem: IbUmemOdp, mr: Mlx5IbMr, fn: string): void {
  const k = umem.context.k;
  if (k.trace === null) return;
  const reads = [`${objectId(umem.objName)}.private`, objectId(mr.objName)];
  k.event(fn, { "umem->private": mr.objName, ...accessFields(reads) });
}

/**
 * The body of pagefault_mr() for one MTT MR (explicit, or one implicit child): map
 * [va, va + size) and write the MTT unless an invalidation raced. Returns the PAGE_SIZE
 * pages mapped (np << (page_shift - PAGE_SHIFT)) and adds the bytes to `bytesMapped`, or
 * an errno; on -EAGAIN it first waits for the racing invalidation to end.
 */
function* pagefaultLeaf(
  mr: ClassicMr,
  odp: ClassicUmemOdp,
  va: number,
  size: number,
  flags: PagefaultFlags,
  implicit: boolean,
  bytesMapped: BytesMapped | null,
): KGen<number> {
  const k = mr.dev.k;
  const startIdx = Math.floor((va - mr.iova) / odp.pageSize);
  if (flags.prefetch === true && flags.downgrade !== true && !odp.writable && flags.write)
    return EINVAL;
  let accessMask = ODP_READ_ALLOWED_BIT;
  if (odp.writable && flags.downgrade !== true) accessMask |= ODP_WRITE_ALLOWED_BIT;
  const currentSeq = odp.notifiersSeq;
  traceInterlock(odp, "pagefault_mr", {}, false);
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
    if (ret >= 0) {
      addBytesMapped(bytesMapped, np, odp.pageShift, va % odp.pageSize, size);
      return osPages(np, odp.pageShift);
    }
  }
  if (ret === EAGAIN) {
    // Since "IB/mlx5: Fix implicit MR release flow" every -EAGAIN waits: a fault after
    // the mm's release fails on mmget_not_zero when it is retried. Before it (catalog
    // defect implicit-release-leaks-children) an explicit MR the release marked dying
    // killed the QP here; an implicit child was waited on even when dying.
    if (!k.hasDefect(RELEASE_MARKS_DYING) || implicit || !odp.dying) {
      const left = yield* odp.notifierCompletion.waitTimeout(MMU_NOTIFIER_TIMEOUT_NS);
      if (left === 0) k.event("mlx5_ib_warn", { msg: "timeout waiting for mmu notifier" });
    } else {
      // The MR is being killed: kill the QP as well.
      ret = EFAULT;
    }
  }
  return ret;
}

/**
 * pagefault_mr(), classic: an explicit MR's one umem, or for an implicit parent the
 * children implicit_mr_get_data found or made, each faulted in turn; a child missing
 * from the tree on the way (freed meanwhile) ends the fault with -EAGAIN.
 */
function* pagefaultMr(
  mr: ClassicMr,
  va: number,
  bcnt: number,
  flags: PagefaultFlags,
  bytesMapped: BytesMapped | null,
): KGen<number> {
  const k = mr.dev.k;
  const odpMr = mr.umem;
  if (odpMr === null) return EINVAL;
  if (!k.kasan.check(odpMr, "pagefault_mr reads the umem")) return EFAULT;
  if (!odpMr.isImplicitOdp) {
    const size = sizeToUmemEnd(odpMr, va, bcnt);
    return yield* pagefaultLeaf(mr, odpMr, va, size, flags, false, bytesMapped);
  }
  const first = yield* implicitMrGetData(mr, va, bcnt);
  if (typeof first === "number") return first;
  let odp = first;
  let ioVirt = va;
  let left = bcnt;
  let npages = 0;
  for (;;) {
    const child = mrOfUmem(odp);
    if (child === null) return EFAULT;
    const size = Math.min(left, ibUmemEnd(odp) - ioVirt);
    const ret = yield* pagefaultLeaf(child, odp, ioVirt, size, flags, true, bytesMapped);
    if (ret < 0) return ret;
    npages += ret;
    left -= size;
    if (left <= 0) return npages;
    ioVirt += size;
    const next = yield* implicitOdpNext(odp);
    if (next?.address !== ioVirt) {
      k.event("mlx5_ib_dbg", { msg: "next implicit leaf removed", va: ioVirt });
      return EAGAIN;
    }
    odp = next;
  }
}

/** The classic design's implicit MRs (srcuEraMr's hooks). */
const classicImplicit: SrcuEraImplicit<ClassicUmemOdp> = {
  allocImplicitMr: mlx5IbAllocImplicitMr,
  freeImplicitMr: mlx5IbFreeImplicitMr,
};

export const classicMlx5Odp: Mlx5OdpDesign<ClassicUmemOdp> = {
  core: classicDesign,

  kernelSetup(k) {
    // v5.3 predates the invalidate_range_start lockdep map (added in v5.4) and the
    // pairing of ends after a failed non-blockable start: its per-mm notifier holds
    // umem_rwsem from start to end, so it could not have lived with either.
    setInvalidateStartMap(k, false);
    setPairEndsOnFailedStart(k, false);
    // The RDMA responder handler checks the page count (pages_in_range), as until v6.13.
    setPageCountPerDirectMr(k, false);
    // advise_mr refusals as v5.3 returns them (prefetch.ts).
    setPrefetchErrnos(k, "v5.3");
  },

  allocUcontext(_dev, ctx: IbUcontext) {
    ctx.invalidateRange = mlx5IbInvalidateRange;
  },

  regOdpMr: (dev, pd, start, length, access) =>
    regOdpMrSrcuEra(classicDesign, dev, pd, start, length, access, classicImplicit),

  deregOdpMr: (mr) => deregOdpMrSrcuEra(mr, classicDesign, mlx5IbInvalidateRange, classicImplicit),

  pagefaultSingleDataSegment: (dev, pd, key, va, bcnt, flags, bytesMapped) =>
    pagefaultSingleDataSegmentSrcuEra(
      dev,
      pd,
      key,
      va,
      bcnt,
      flags,
      pagefaultMr,
      bytesMapped ?? null,
    ),
};
