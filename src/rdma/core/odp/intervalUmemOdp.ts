/**
 * The interval ODP umem (v5.10+): one mmu_interval_notifier per umem, pages found with
 * hmm_range_fault and recorded under umem_mutex only if no invalidation hit the
 * interval meanwhile.
 *
 * Models struct ib_umem_odp and ib_umem_odp_map_dma_and_lock() /
 * ib_umem_odp_map_dma_single_page() / ib_umem_odp_unmap_dma_pages() of
 * drivers/infiniband/core/umem_odp.c as of v6.13 (hmm_range_fault over whole umem pages
 * with the map order check of "IB/core: Improve ODP to use hmm_range_fault()", umem_mutex
 * lifted out of the unmap). The interlock:
 *
 *     fault                                    invalidation (->invalidate of the notifier)
 *     seq = mmu_interval_read_begin()          lock umem_mutex
 *     mmap_read_lock; hmm_range_fault;         mmu_interval_set_seq(cur_seq)
 *       unlock; -EBUSY: start over             zap the device page table
 *     lock umem_mutex                          unmap the DMA pages (dirtying written ones)
 *     mmu_interval_read_retry(seq)?            unlock umem_mutex
 *       unlock, start over
 *     record the pages; return, mutex HELD
 *     (the driver writes its page table, then unlocks)
 *
 * No page reference is taken: the frame stays valid only because every invalidation
 * runs ->invalidate before the CPU page table changes. odpsim keeps the hmm pfns in a
 * local array and records in pageList only what was mapped under the lock (the kernel
 * lets hmm_range_fault write pfn_list directly).
 */
import { EBUSY, EFAULT, EINVAL } from "../../../sim/errno.ts";
import { NSEC_PER_MSEC } from "../../../sim/clock.ts";
import type { KGen } from "../../../sim/task.ts";
import { exitMmap } from "../../../mm/exit.ts";
import {
  mmapReadLock,
  mmapReadUnlock,
  mmdrop,
  mmgetNotZero,
  type MmStruct,
} from "../../../mm/mmStruct.ts";
import { PAGE_SHIFT, PAGE_SIZE } from "../../../mm/page.ts";
import {
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  hmmPfnHas,
  hmmPfnToMapOrder,
  hmmPfnToPfn,
  hmmRangeFault,
  type HmmRange,
} from "../../../mm/notifier/hmm.ts";
import {
  MmuIntervalNotifier,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  type MmuIntervalNotifierOps,
} from "../../../mm/notifier/mmuIntervalNotifier.ts";
import type { MmuNotifierRange } from "../../../mm/notifier/subscriptions.ts";
import {
  IbUmemOdp,
  ODP_READ_ALLOWED_BIT,
  ODP_WRITE_ALLOWED_BIT,
  ibUmemEnd,
  ibUmemStart,
  type UmemOdpInit,
} from "../umemOdp.ts";
import { unmapDmaPagesLocked } from "./unmapDmaPages.ts";
import type { UmemOdpDriverOps } from "./umemOdpDesign.ts";

/** HMM_RANGE_DEFAULT_TIMEOUT: how long map_dma_and_lock retries on -EBUSY. */
export const HMM_RANGE_DEFAULT_TIMEOUT_NS = 1000 * NSEC_PER_MSEC;

export class IntervalUmemOdp extends IbUmemOdp {
  /** umem_odp->notifier (never inserted for an implicit root). */
  readonly notifier: MmuIntervalNotifier;

  constructor(init: UmemOdpInit, driverOps: UmemOdpDriverOps<IntervalUmemOdp>) {
    super(init);
    this.notifier = new MmuIntervalNotifier(intervalOps(this, driverOps), this);
  }
}

/** The mmu_interval_notifier_ops the driver's invalidate is reached through. */
function intervalOps(
  umem: IntervalUmemOdp,
  driverOps: UmemOdpDriverOps<IntervalUmemOdp>,
): MmuIntervalNotifierOps {
  return {
    name: "ib_umem_odp",
    invalidate: (_sub, range, curSeq) => umemInvalidate(umem, driverOps, range, curSeq),
  };
}

function* umemInvalidate(
  umem: IntervalUmemOdp,
  driverOps: UmemOdpDriverOps<IntervalUmemOdp>,
  range: MmuNotifierRange,
  curSeq: number,
): KGen<boolean> {
  if (driverOps.invalidate === undefined) return true;
  return yield* driverOps.invalidate(umem, range, curSeq);
}

/**
 * mmput_async(): the fault path may hold umem_mutex when it lets go of the mm, and the
 * last put runs exit_mmap(), whose release invalidation takes umem_mutex: so the
 * teardown is handed to a worker.
 */
export function mmputAsync(mm: MmStruct): void {
  if (!mm.k.kasan.check(mm, "mmput_async")) return;
  if (!mm.mmUsers.put(() => undefined)) return;
  mm.k.spawn("mmput_async_fn", { kind: "host", name: "kworkers" }, () => mmputAsyncFn(mm));
}

function* mmputAsyncFn(mm: MmStruct): KGen {
  yield* exitMmap(mm);
  mmdrop(mm);
}

/**
 * ib_umem_odp_unmap_dma_pages(), v5.5+: the caller holds umem_mutex (it zapped the
 * device page table in the same hold).
 */
export function intervalUnmapDmaPages(umem: IntervalUmemOdp, virt: number, bound: number): void {
  umem.umemMutex.assertHeld();
  unmapDmaPagesLocked(umem, virt, bound);
}

/**
 * ib_umem_odp_map_dma_and_lock(): map [userVirt, userVirt + bcnt). With `fault`, pages
 * are faulted in (for write when accessMask has ODP_WRITE_ALLOWED_BIT); without, only
 * pages the CPU maps now are recorded (snapshot). Returns the number of umem pages
 * covered WITH umem_mutex held, or a negative errno with it released.
 */
export function* ibUmemOdpMapDmaAndLock(
  umem: IntervalUmemOdp,
  userVirt: number,
  bcnt: number,
  accessMask: number,
  fault: boolean,
): KGen<number> {
  const k = umem.context.k;
  if (accessMask === 0) return EINVAL;
  if (userVirt < ibUmemStart(umem) || userVirt + bcnt > ibUmemEnd(umem)) return EFAULT;
  if (umem.isImplicitOdp) return EINVAL;
  const mm = umem.owningMm;
  if (!mmgetNotZero(mm)) return EINVAL;
  const pageSize = umem.pageSize;
  const start = Math.floor(userVirt / pageSize) * pageSize;
  const end = faultRangeEnd(umem, userVirt + bcnt);
  let defaultFlags = 0;
  if (fault) {
    defaultFlags = HMM_PFN_REQ_FAULT;
    if ((accessMask & ODP_WRITE_ALLOWED_BIT) !== 0) defaultFlags += HMM_PFN_REQ_WRITE;
  }
  const range: HmmRange = {
    notifier: umem.notifier,
    notifierSeq: 0,
    start,
    end,
    hmmPfns: new Array<number>((end - start) / PAGE_SIZE).fill(0),
    defaultFlags,
    pfnFlagsMask: 0,
  };
  const deadline = k.clock.now() + HMM_RANGE_DEFAULT_TIMEOUT_NS;
  let ret: number;
  for (;;) {
    range.notifierSeq = yield* mmuIntervalReadBegin(umem.notifier);
    yield* mmapReadLock(mm);
    ret = yield* hmmRangeFault(range);
    mmapReadUnlock(mm);
    if (ret === EBUSY && k.clock.now() <= deadline) continue;
    if (ret !== 0) break;
    if (!k.kasan.check(umem, "ib_umem_odp_map_dma_and_lock locks umem_mutex")) return EFAULT;
    yield* umem.umemMutex.lock();
    if (mmuIntervalReadRetry(umem.notifier, range.notifierSeq)) {
      umem.umemMutex.unlock();
      continue;
    }
    ret = recordPfns(umem, range, accessMask, fault);
    if (ret < 0) umem.umemMutex.unlock();
    break;
  }
  mmputAsync(mm);
  return ret;
}

/** The loop of map_dma_and_lock under umem_mutex: record each page of the range. */
function recordPfns(
  umem: IntervalUmemOdp,
  range: HmmRange,
  accessMask: number,
  fault: boolean,
): number {
  const k = umem.context.k;
  const step = umem.pageSize / PAGE_SIZE;
  const startIdx = (range.start - ibUmemStart(umem)) / umem.pageSize;
  let dmaIndex = startIdx;
  for (let i = 0; i < range.hmmPfns.length; i += step, dmaIndex++) {
    const entry = range.hmmPfns[i] as number;
    let mask = accessMask;
    if (fault) {
      k.warnOn(!hmmPfnHas(entry, HMM_PFN_VALID), "hmm_range_fault left a page unfaulted");
    } else {
      if (!hmmPfnHas(entry, HMM_PFN_VALID)) continue;
      mask = ODP_READ_ALLOWED_BIT;
      if (hmmPfnHas(entry, HMM_PFN_WRITE)) mask |= ODP_WRITE_ALLOWED_BIT;
    }
    const bad = hugePageCheck(umem, range, i);
    if (bad < 0) return bad;
    ibUmemOdpMapDmaSinglePage(umem, dmaIndex, hmmPfnToPfn(entry), mask);
  }
  return dmaIndex - startIdx;
}

/**
 * Where the pages to fault end: the end of the access rounded up to the umem's page
 * size, so that a huge umem page is looked at whole. Catalog defect
 * hugetlb-checked-at-registration-only restores the get_user_pages loop of v5.5-v5.9,
 * which fetched 4 KiB pages only up to the end of the access.
 */
function faultRangeEnd(umem: IntervalUmemOdp, accessEnd: number): number {
  const unit = umem.context.k.hasDefect("hugetlb-checked-at-registration-only")
    ? PAGE_SIZE
    : umem.pageSize;
  return Math.ceil(accessEnd / unit) * unit;
}

/**
 * May the CPU pages from hmmPfns[i] on be mapped as one umem page? Since "IB/core:
 * Improve ODP to use hmm_range_fault()" (v5.10) the CPU mapping's order must cover the
 * umem page: a small page behind a huge umem page is -EINVAL. Catalog defect
 * hugetlb-checked-at-registration-only restores the check of v5.5-v5.9 instead.
 */
function hugePageCheck(umem: IntervalUmemOdp, range: HmmRange, i: number): number {
  const k = umem.context.k;
  if (k.hasDefect("hugetlb-checked-at-registration-only"))
    return gupContiguityCheck(umem, range, i);
  const order = hmmPfnToMapOrder(range.hmmPfns[i] as number);
  if (order + PAGE_SHIFT >= umem.pageShift) return 0;
  k.event("odp_bad_hmm_order", { umem: umem.objName, order, pageShift: umem.pageShift });
  return EINVAL;
}

/**
 * The get_user_pages loop of v5.5-v5.9 (whose registration looked at the VMA, until
 * "IB/core: Fix ODP with IB_ACCESS_HUGETLB handling"): the 4 KiB pages fetched must be
 * physically contiguous (-EFAULT). Pages of the huge page past the end of the access
 * were not fetched and are not looked at, though the device is given the whole umem
 * page from the first frame on.
 */
function gupContiguityCheck(umem: IntervalUmemOdp, range: HmmRange, i: number): number {
  const head = hmmPfnToPfn(range.hmmPfns[i] as number);
  const last = Math.min(i + umem.pageSize / PAGE_SIZE, range.hmmPfns.length);
  for (let j = i + 1; j < last; j++) {
    const tail = range.hmmPfns[j] as number;
    // get_user_pages had no snapshot mode: pages a snapshot did not find are skipped.
    if (!hmmPfnHas(tail, HMM_PFN_VALID)) continue;
    if (hmmPfnToPfn(tail) !== head + (j - i)) return EFAULT;
  }
  return 0;
}

/** ib_umem_odp_map_dma_single_page(), v5.10+: map, or resync the access bits. */
function ibUmemOdpMapDmaSinglePage(
  umem: IntervalUmemOdp,
  idx: number,
  pfn: number,
  accessMask: number,
): void {
  const k = umem.context.k;
  const pageList = umem.pageList;
  const dmaList = umem.dmaList;
  if (pageList === null || dmaList === null) throw new Error("map on an implicit root");
  if (dmaList.get(idx) !== 0) {
    // Already mapped: a non-invalidating change (read-only to writable); resync.
    k.warnOn(pageList.get(idx) !== pfn + 1, "odp page changed without an invalidation", {
      umem: umem.objName,
      index: idx,
    });
    dmaList.set(idx, accessMask);
    return;
  }
  pageList.set(idx, pfn + 1);
  dmaList.set(idx, accessMask);
  umem.npages++;
  k.event("odp_map_page", { umem: umem.objName, index: idx, pfn, access: accessMask });
}
