/**
 * The mm core's side of the MMU notifier calls.
 *
 * Models the inline wrappers of include/linux/mmu_notifier.h that mm code calls:
 * mmu_notifier_range_init(), mmu_notifier_invalidate_range_start() / _nonblock(),
 * mmu_notifier_invalidate_range_end() and mmu_notifier_release(). Each is a no-op when
 * the mm has no subscriptions (mm_has_notifiers() false); otherwise it calls through
 * mm->notifier_subscriptions, which the notifier layer (src/mm/notifier/) implements.
 */
import type { KGen } from "../sim/task.ts";
import type { MmStruct } from "./mmStruct.ts";
import type { MmuNotifierRange, MmuNotifyEvent } from "./notifier/subscriptions.ts";

/** mmu_notifier_range_init(): [start, end) of `mm` changing for `event`. */
export function mmuNotifierRangeInit(
  mm: MmStruct,
  event: MmuNotifyEvent,
  start: number,
  end: number,
  options: { blockable?: boolean; owner?: unknown } = {},
): MmuNotifierRange {
  const range = { mm, start, end, event, blockable: options.blockable ?? true };
  return options.owner === undefined ? range : { ...range, owner: options.owner };
}

/**
 * mmu_notifier_invalidate_range_start() (or _nonblock() for a non-blockable range):
 * 0, or -EAGAIN when a subscriber refused a non-blockable range. The caller calls
 * mmuNotifierInvalidateRangeEnd() after a 0 only: on -EAGAIN the notifier core has
 * already ended whatever it started.
 */
export function* mmuNotifierInvalidateRangeStart(range: MmuNotifierRange): KGen<number> {
  const subs = range.mm.notifierSubscriptions;
  range.mm.k.event("invalidate_range_start", {
    mm: range.mm.name,
    start: range.start,
    end: range.end,
    event: range.event,
  });
  if (subs === null) return 0;
  return yield* subs.invalidateRangeStart(range);
}

/** mmu_notifier_invalidate_range_end(). */
export function* mmuNotifierInvalidateRangeEnd(range: MmuNotifierRange): KGen {
  const subs = range.mm.notifierSubscriptions;
  range.mm.k.event("invalidate_range_end", {
    mm: range.mm.name,
    start: range.start,
    end: range.end,
  });
  if (subs === null) return;
  yield* subs.invalidateRangeEnd(range);
}

/** mmu_notifier_release(): exit_mmap() tells every subscriber the mm is going. */
export function* mmuNotifierRelease(mm: MmStruct): KGen {
  const subs = mm.notifierSubscriptions;
  if (subs === null) return;
  yield* subs.release(mm);
}
