/**
 * The classic ODP umem (v3.19 – v5.4): the interlock of seed 001 and the creation paths
 * of seed 000.
 *
 * Models drivers/infiniband/core/umem_odp.c as of v5.3 (with seed 000 applied) and its
 * header include/rdma/ib_umem_odp.h. The state that makes the interlock:
 *
 *   notifiers_count   invalidations running over this umem now (start..end)
 *   notifiers_seq     bumped at the end of each invalidation
 *   notifier_completion  completed when notifiers_count drops to zero
 *
 * A page fault samples notifiers_seq, takes pages with get_user_pages, and may write
 * the device page table only under umem_mutex and only if no invalidation ran or runs:
 *
 *     fault                                  invalidation (umem_rwsem held for read)
 *     seq = notifiers_seq
 *     gup -> page P
 *     lock umem_mutex; retry(seq)? store P    start: lock umem_mutex; count++ ; unlock
 *     unlock umem_mutex                       zap device PT of the range
 *     lock umem_mutex                         unmap dma pages (put P)
 *     retry(seq)? -> -EAGAIN, wait            ... CPU PTEs change ...
 *     else write device PT                    end: lock umem_mutex; seq++; count--;
 *     unlock umem_mutex                            complete_all if 0; unlock
 *
 * retry(seq) = notifiers_count != 0 || notifiers_seq != seq.
 */
import { EAGAIN, EFAULT, EINVAL } from "../../../sim/errno.ts";
import { Completion } from "../../../sim/sync/completion.ts";
import type { WorkStruct } from "../../../sim/sync/workqueue.ts";
import type { KGen } from "../../../sim/task.ts";
import { getUserPagesRemote } from "../../../mm/gup.ts";
import { mmapReadLock, mmapReadUnlock, mmgetNotZero, mmput } from "../../../mm/mmStruct.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import type { IntervalTreeNode } from "../../../mm/intervalTree.ts";
import { accessFields } from "../../../sim/objectAccess.ts";
import {
  IbUmemOdp,
  ODP_WRITE_ALLOWED_BIT,
  ibUmemEnd,
  ibUmemStart,
  traceDmaMap,
  umemInterlockId,
  type UmemOdpInit,
} from "../umemOdp.ts";
import type { IbUcontextPerMm } from "./classicPerMm.ts";

export class ClassicUmemOdp extends IbUmemOdp {
  notifiersSeq = 0;
  notifiersCount = 0;
  readonly notifierCompletion: Completion;
  /** The per-mm notifier this umem is registered with. */
  perMm: IbUcontextPerMm | null = null;
  /** This umem's node in per_mm->umem_tree (null for an implicit root). */
  treeNode: IntervalTreeNode<ClassicUmemOdp> | null = null;
  /** umem_odp->work: the driver's deferred free of an implicit child (mr_leaf_free_action). */
  work: WorkStruct | null = null;

  constructor(init: UmemOdpInit) {
    super(init);
    this.notifierCompletion = new Completion(
      init.context.k,
      `notifier_completion(${this.objName})`,
    );
  }
}

/** ib_umem_mmu_notifier_retry(): did or does an invalidation race the fault? */
export function ibUmemMmuNotifierRetry(umem: ClassicUmemOdp, mmuSeq: number): boolean {
  const retry = umem.notifiersCount !== 0 || umem.notifiersSeq !== mmuSeq;
  traceInterlock(umem, "ib_umem_mmu_notifier_retry", { seq: mmuSeq, retry }, false);
  return retry;
}

/**
 * notifiers_seq and notifiers_count as the trace shows them, under `fn`, with `extra`
 * values; a read or a write of the umem's interlock.
 */
export function traceInterlock(
  umem: ClassicUmemOdp,
  fn: string,
  extra: Record<string, number | boolean>,
  write: boolean,
): void {
  const k = umem.context.k;
  if (k.trace === null) return;
  const state = { notifiers_seq: umem.notifiersSeq, notifiers_count: umem.notifiersCount };
  const id = [umemInterlockId(umem)];
  k.event(fn, { ...state, ...extra, ...(write ? accessFields([], id) : accessFields(id)) });
}

/** ib_umem_notifier_start_account(). */
export function* ibUmemNotifierStartAccount(umem: ClassicUmemOdp): KGen {
  yield* umem.umemMutex.lock();
  if (umem.notifiersCount++ === 0) umem.notifierCompletion.reinit();
  traceInterlock(umem, "ib_umem_notifier_start_account", {}, true);
  umem.umemMutex.unlock();
}

/** ib_umem_notifier_end_account(). */
export function* ibUmemNotifierEndAccount(umem: ClassicUmemOdp): KGen {
  yield* umem.umemMutex.lock();
  umem.notifiersSeq++;
  if (--umem.notifiersCount === 0) umem.notifierCompletion.completeAll();
  traceInterlock(umem, "ib_umem_notifier_end_account", {}, true);
  umem.umemMutex.unlock();
}

/**
 * ib_umem_odp_map_dma_single_page(): store `pfn` at `pageIndex` unless an invalidation
 * raced. Called with umem_mutex held. Returns 0, -EAGAIN or -EFAULT; the page reference
 * taken by gup is dropped in every case.
 */
export function* ibUmemOdpMapDmaSinglePage(
  umem: ClassicUmemOdp,
  pageIndex: number,
  pfn: number,
  accessMask: number,
  currentSeq: number,
): KGen<number> {
  const k = umem.context.k;
  const phys = umem.owningMm.phys;
  const dmaList = umem.dmaList;
  const pageList = umem.pageList;
  if (dmaList === null || pageList === null) throw new Error("map on an implicit root");
  let ret = 0;
  let removeExisting = false;
  if (ibUmemMmuNotifierRetry(umem, currentSeq)) {
    ret = EAGAIN;
  } else if (dmaList.get(pageIndex) === 0 && k.shouldFail("dma_map")) {
    // ib_dma_map_page() failed (ib_dma_mapping_error): fault injection.
    ret = EFAULT;
  } else if (dmaList.get(pageIndex) === 0) {
    dmaList.set(pageIndex, accessMask);
    pageList.set(pageIndex, pfn + 1);
    umem.npages++;
    k.event("odp_map_page", { umem: umem.objName, index: pageIndex, pfn, access: accessMask });
    traceDmaMap(umem, pageIndex, pfn, "ib_umem_odp_map_dma_single_page");
  } else if (pageList.get(pageIndex) === pfn + 1) {
    dmaList.set(pageIndex, dmaList.get(pageIndex) | accessMask);
  } else {
    k.event("odp_different_pages", { umem: umem.objName, index: pageIndex, pfn });
    removeExisting = true;
  }
  // "On Demand Paging - avoid pinning the page": with ucontext->invalidate_range set (always,
  // for ODP) the gup reference is dropped whether or not the page was stored; the MMU
  // notifier, not a reference, keeps a mapped page from going away under the device.
  phys.putPage(phys.pfnToPage(pfn), "ib_umem_odp_map_dma_single_page");
  // "got different pages in IB device and from get_user_pages": v5.3 invalidates the
  // page here while its caller holds umem_mutex, which start_account and the driver's
  // unmap take again — a self-deadlock that was never hit in practice and was removed
  // in "RDMA/odp: Remove broken debugging call to invalidate_range". Kept as it was;
  // lockdep reports it if a run ever gets here.
  if (removeExisting) {
    const start = ibUmemStart(umem) + pageIndex * umem.pageSize;
    yield* ibUmemNotifierStartAccount(umem);
    yield* invalidateRangeHook(umem)(umem, start, start + umem.pageSize);
    yield* ibUmemNotifierEndAccount(umem);
    ret = EAGAIN;
  }
  return ret;
}

function invalidateRangeHook(umem: ClassicUmemOdp) {
  const hook = umem.context.invalidateRange;
  if (hook === null) throw new Error("classic ODP needs ucontext->invalidate_range");
  return hook;
}

/**
 * ib_umem_odp_map_dma_pages(): fault in and map [userVirt, userVirt + bcnt). Returns the
 * number of pages mapped, or a negative errno (-EAGAIN when an invalidation raced).
 */
export function* ibUmemOdpMapDmaPages(
  umem: ClassicUmemOdp,
  userVirt: number,
  bcnt: number,
  accessMask: number,
  currentSeq: number,
): KGen<number> {
  if (accessMask === 0) return EINVAL;
  if (userVirt < ibUmemStart(umem) || userVirt + bcnt > ibUmemEnd(umem)) return EFAULT;
  const mm = umem.owningMm;
  const off = userVirt % umem.pageSize;
  let va = userVirt - off;
  let remaining = bcnt + off;
  // The owning process may be gone; then mmget_not_zero fails and so do we.
  if (!mmgetNotZero(mm)) return EINVAL;
  const startIdx = (va - ibUmemStart(umem)) / umem.pageSize;
  let idx = startIdx;
  let ret = 0;
  let lastGup = 0;
  const write = (accessMask & ODP_WRITE_ALLOWED_BIT) !== 0;
  while (remaining > 0) {
    const want = Math.min(Math.ceil(remaining / umem.pageSize), PAGE_SIZE / 8);
    const pfns: number[] = [];
    yield* mmapReadLock(mm);
    lastGup = yield* getUserPagesRemote(mm, va, want, { write }, pfns);
    mmapReadUnlock(mm);
    if (lastGup < 0) break;
    remaining -= Math.min(lastGup * umem.pageSize, remaining);
    if (!umem.context.k.kasan.check(umem, "ib_umem_odp_map_dma_pages locks umem_mutex"))
      return EFAULT;
    yield* umem.umemMutex.lock();
    let j = 0;
    for (; j < pfns.length; j++) {
      ret = yield* ibUmemOdpMapDmaSinglePage(umem, idx, pfns[j] as number, accessMask, currentSeq);
      if (ret < 0) break;
      idx++;
      va += umem.pageSize;
    }
    umem.umemMutex.unlock();
    if (ret < 0) {
      for (const pfn of pfns.slice(j + 1)) mm.phys.putPage(mm.phys.pfnToPage(pfn));
      break;
    }
  }
  if (ret >= 0) ret = lastGup < 0 && idx === startIdx ? lastGup : idx - startIdx;
  yield* mmput(mm);
  return ret;
}
