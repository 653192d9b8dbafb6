/**
 * The seam between the mm core and the MMU notifier machinery: what mm code calls
 * around every change of a CPU page table, and what the notifier layer implements.
 *
 * Models include/linux/mmu_notifier.h: struct mmu_notifier_range, enum
 * mmu_notifier_event, and the mm->notifier_subscriptions pointer through which
 * mmu_notifier_invalidate_range_start()/end() and mmu_notifier_release() reach the
 * subscribers. The mm core owns the call sites (munmap, mprotect, madvise, COW, migrate,
 * THP split, exit, the OOM reaper); src/mm/notifier/ owns everything behind them.
 *
 * Protocol, for every CPU page-table change of [start, end):
 *
 *     ret = subs.invalidateRangeStart(range)      // may sleep if range.blockable
 *     if (ret === 0) {                            // -EAGAIN only when !blockable
 *       change the PTEs
 *       subs.invalidateRangeEnd(range)
 *     }                                           // else: skip the range, NO end
 *
 * On -EAGAIN the notifier core has already ended every subscriber whose start had
 * succeeded ("mm/mmu_notifiers: ensure range_end() is paired with range_start()";
 * catalog defect 6 removes that pairing), so the caller (the OOM reaper) must not call
 * end, as __oom_reap_task_mm() does not.
 */
import type { KGen } from "../../sim/task.ts";
import type { MmStruct } from "../mmStruct.ts";

/** enum mmu_notifier_event. */
export type MmuNotifyEvent =
  | "UNMAP"
  | "CLEAR"
  | "PROTECTION_VMA"
  | "PROTECTION_PAGE"
  | "SOFT_DIRTY"
  | "RELEASE"
  | "MIGRATE"
  | "EXCLUSIVE";

/** struct mmu_notifier_range: [start, end) of `mm`, end exclusive as in the kernel. */
export interface MmuNotifierRange {
  readonly mm: MmStruct;
  readonly start: number;
  readonly end: number;
  readonly event: MmuNotifyEvent;
  /** MMU_NOTIFIER_RANGE_BLOCKABLE: false for the OOM reaper. */
  readonly blockable: boolean;
  /** range->owner: lets a device skip invalidations its own migration caused. */
  readonly owner?: unknown;
}

/** mmu_notifier_range_blockable(). */
export function mmuNotifierRangeBlockable(range: MmuNotifierRange): boolean {
  return range.blockable;
}

/**
 * struct mmu_notifier_subscriptions, as seen from the mm core: set on the mm by the
 * first notifier registration (mm->notifier_subscriptions), never unset before the mm
 * struct is freed.
 */
export interface MmuNotifierSubscriptions {
  /** 0, or -EAGAIN when a subscriber refused a non-blockable range. */
  invalidateRangeStart(range: MmuNotifierRange): KGen<number>;
  invalidateRangeEnd(range: MmuNotifierRange): KGen;
  /** __mmu_notifier_release(): exit_mmap() tells every subscriber the mm is gone. */
  release(mm: MmStruct): KGen;
}
