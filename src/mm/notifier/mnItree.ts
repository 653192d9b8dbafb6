/**
 * The interval-tree half of an invalidation: mmu_interval_notifiers overlapping it.
 *
 * Models mn_itree_is_invalidating(), mn_itree_inv_start_range(), mn_itree_inv_next(),
 * mn_itree_inv_end(), mn_itree_invalidate() and mn_itree_release() of
 * mm/mmu_notifier.c. The protocol, as the kernel comments it:
 * - start: under the lock, count the invalidation as active; if some interval
 *   overlaps, make invalidate_seq odd. Each overlapping notifier's ->invalidate gets
 *   that odd value and must store it with mmu_interval_set_seq() under its own lock.
 * - end: under the lock, when the last active invalidation ends with the seq odd, make
 *   it even, apply the deferred inserts/removes (the tree is never changed while it is
 *   being walked), then wake every waiter.
 *
 * The deferred-list walk in mn_itree_inv_end() yields between items: the real walk
 * runs under a spinlock, which keeps other CPUs out of the lock but not out of memory,
 * and that is the window of "mm/mmu_notifier.c: fix race in
 * mmu_interval_notifier_remove()".
 */
import type { Kernel } from "../../sim/kernel.ts";
import { EAGAIN } from "../../sim/errno.ts";
import { accessFields, guardId, objectId } from "../../sim/objectAccess.ts";
import type { KGen } from "../../sim/task.ts";
import { mmId, type MmStruct } from "../mmStruct.ts";
import type { MmuIntervalNotifier } from "./mmuIntervalNotifier.ts";
import type { MmuNotifierSubscriptionsState } from "./mmuNotifierSubscriptions.ts";
import type { MmuNotifierRange } from "./subscriptions.ts";

/** The model's ULONG_MAX: the end of "everything" (release, whole-mm notifiers). */
export const ULONG_MAX = Number.MAX_SAFE_INTEGER;

/** The trace's guard id of the interval tree's invalidate_seq. */
export function invalidateSeqId(subs: MmuNotifierSubscriptionsState): string {
  return guardId(`${mmId(subs.mm)}.invalidate_seq`);
}

/** The trace's object id of the interval tree's deferred list. */
export function deferredListId(subs: MmuNotifierSubscriptionsState): string {
  return `${mmId(subs.mm)}.deferred_list`;
}

/** The trace's name of an interval notifier: its container's, else its ops'. */
export function intervalSubName(sub: MmuIntervalNotifier): string {
  return sub.container?.objName ?? sub.ops.name;
}

/** mn_itree_is_invalidating(): whether a tree walk is under way (the seq is odd). */
export function mnItreeIsInvalidating(subs: MmuNotifierSubscriptionsState): boolean {
  subs.lock.assertHeld();
  return subs.invalidateSeq % 2 === 1;
}

/** A dereference of an interval notifier: a KASAN check of its container. */
export function mmuIntervalNotifierCheck(
  k: Kernel,
  sub: MmuIntervalNotifier,
  what: string,
): boolean {
  return sub.container === null || k.kasan.check(sub.container, what);
}

/**
 * mn_itree_inv_start_range(): counts the invalidation active and returns the first
 * overlapping notifier and the (odd, if any overlaps) seq to hand to them.
 */
export function* mnItreeInvStartRange(
  subs: MmuNotifierSubscriptionsState,
  range: MmuNotifierRange,
): KGen<{ first: MmuIntervalNotifier | null; seq: number }> {
  yield* subs.lock.lock();
  subs.activeInvalidateRanges++;
  const node = range.end > range.start ? subs.itree.iterFirst(range.start, range.end - 1) : null;
  if (node !== null && !mnItreeIsInvalidating(subs)) {
    subs.invalidateSeq++;
    if (subs.mm.k.trace !== null) {
      subs.mm.k.event("mn_itree_inv_start_range", {
        invalidate_seq: subs.invalidateSeq,
        ...accessFields([], [invalidateSeqId(subs)]),
      });
    }
  }
  const seq = subs.invalidateSeq;
  subs.lock.unlock();
  return { first: node === null ? null : node.value, seq };
}

/** mn_itree_inv_next(): the next overlapping notifier (the tree is frozen meanwhile). */
export function mnItreeInvNext(
  subs: MmuNotifierSubscriptionsState,
  sub: MmuIntervalNotifier,
  range: MmuNotifierRange,
): MmuIntervalNotifier | null {
  if (sub.node === null) throw new Error("mn_itree_inv_next: notifier left the tree mid-walk");
  const next = subs.itree.iterNext(sub.node, range.start, range.end - 1);
  return next === null ? null : next.value;
}

/**
 * mn_itree_inv_end(): the last active invalidation makes the seq even and applies the
 * deferred list, then everyone waiting for the seq is woken. An end with no active
 * invalidation (an end without a successful start) is reported: the kernel's counter
 * would silently wrap.
 */
export function* mnItreeInvEnd(subs: MmuNotifierSubscriptionsState): KGen {
  const k = subs.mm.k;
  yield* subs.lock.lock();
  if (subs.activeInvalidateRanges === 0) {
    subs.lock.unlock();
    k.report(
      "mmu_notifier_unpaired_end",
      `invalidate_range_end on ${subs.mm.name} with no active invalidation`,
      { mm: subs.mm.name },
    );
    return;
  }
  subs.activeInvalidateRanges--;
  if (subs.activeInvalidateRanges > 0 || !mnItreeIsInvalidating(subs)) {
    subs.lock.unlock();
    return;
  }
  subs.invalidateSeq++; // even again
  if (k.trace !== null) {
    k.event("mn_itree_inv_end", {
      invalidate_seq: subs.invalidateSeq,
      ...accessFields([], [invalidateSeqId(subs)]),
    });
  }
  // The deferred mechanism, like rtnl_unlock(): tree updates queued during the
  // invalidation are applied now, so start never has to wait for a tree lock.
  const deferred = subs.deferredList;
  for (const sub of deferred) {
    yield "mn_itree_inv_end: deferred list";
    if (k.trace !== null) {
      const item = intervalSubName(sub);
      const reads = [deferredListId(subs), objectId(item)];
      k.event("mn_itree_inv_end", { deferred_item: item, ...accessFields(reads) });
    }
    mmuIntervalNotifierCheck(k, sub, "mn_itree_inv_end: deferred_item");
    if (sub.node === null) {
      sub.node = subs.itree.insert(sub.start, sub.last, sub);
    } else {
      subs.itree.remove(sub.node);
      sub.node = null;
    }
    sub.onDeferredList = false;
  }
  subs.deferredList = [];
  subs.lock.unlock();
  subs.wq.wakeUp();
}

/** Calls one notifier's ->invalidate, marking the task as inside a callback. */
function* callInvalidate(
  subs: MmuNotifierSubscriptionsState,
  sub: MmuIntervalNotifier,
  range: MmuNotifierRange,
  seq: number,
): KGen<boolean> {
  const k = subs.mm.k;
  mmuIntervalNotifierCheck(k, sub, "mn_itree_invalidate: interval_sub->ops");
  const task = k.currentTask();
  subs.inCallback.add(task);
  try {
    return yield* sub.ops.invalidate(sub, range, seq);
  } finally {
    subs.inCallback.delete(task);
  }
}

/**
 * mn_itree_invalidate(): ->invalidate of every overlapping notifier. One refusing a
 * non-blockable range makes the whole start fail: the invalidation is ended here
 * (the caller will not call end) and -EAGAIN returned.
 */
export function* mnItreeInvalidate(
  subs: MmuNotifierSubscriptionsState,
  range: MmuNotifierRange,
): KGen<number> {
  const k = subs.mm.k;
  const { first, seq } = yield* mnItreeInvStartRange(subs, range);
  for (let sub = first; sub !== null; sub = mnItreeInvNext(subs, sub, range)) {
    const ok = yield* callInvalidate(subs, sub, range, seq);
    if (ok) continue;
    if (k.warnOn(range.blockable, "mmu_interval_notifier refused a blockable invalidation")) {
      continue;
    }
    k.event("mmu_interval_invalidate_refused", { start: range.start, end: range.end });
    yield* mnItreeInvEnd(subs);
    return EAGAIN;
  }
  return 0;
}

/** mn_itree_release(): exit_mmap() invalidates every interval, [0, ULONG_MAX). */
export function* mnItreeRelease(subs: MmuNotifierSubscriptionsState, mm: MmStruct): KGen {
  const range: MmuNotifierRange = {
    mm,
    start: 0,
    end: ULONG_MAX,
    event: "RELEASE",
    blockable: true,
  };
  const k = mm.k;
  const { first, seq } = yield* mnItreeInvStartRange(subs, range);
  for (let sub = first; sub !== null; sub = mnItreeInvNext(subs, sub, range)) {
    const ok = yield* callInvalidate(subs, sub, range, seq);
    k.warnOn(!ok, "mmu_interval_notifier refused the release invalidation");
  }
  yield* mnItreeInvEnd(subs);
}
