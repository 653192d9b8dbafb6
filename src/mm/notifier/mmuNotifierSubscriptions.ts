/**
 * struct mmu_notifier_subscriptions: everything an mm's notifiers hang from.
 *
 * Models the struct of mm/mmu_notifier.c and the entry points the mm core reaches
 * through mm->notifier_subscriptions: __mmu_notifier_invalidate_range_start(),
 * __mmu_notifier_invalidate_range_end() and __mmu_notifier_release(). It holds both
 * kinds of subscriber: the classic hlist (mnHlist.ts) and the interval tree of
 * mmu_interval_notifiers (mnItree.ts), with the mm-wide `invalidate_seq` (starts at 2;
 * odd while an invalidation that hit some interval is running), the count of active
 * invalidations, the deferred insert/remove list and the wait queue of readers.
 *
 * Allocated by the first registration on the mm and never freed before the mm struct.
 */
import { Spinlock } from "../../sim/sync/spinlock.ts";
import { WaitQueueHead } from "../../sim/sync/waitQueue.ts";
import type { KGen, Task } from "../../sim/task.ts";
import { IntervalTree } from "../intervalTree.ts";
import type { MmStruct } from "../mmStruct.ts";
import type { MmuIntervalNotifier } from "./mmuIntervalNotifier.ts";
import type { MmuNotifier } from "./mmuNotifier.ts";
import { mnHlistInvalidateEnd, mnHlistInvalidateRangeStart, mnHlistRelease } from "./mnHlist.ts";
import { mnItreeInvEnd, mnItreeInvalidate, mnItreeRelease } from "./mnItree.ts";
import { invalidateStartMapAcquire, invalidateStartMapRelease } from "./srcu.ts";
import type { MmuNotifierRange, MmuNotifierSubscriptions } from "./subscriptions.ts";

/** The value invalidate_seq starts at: even, and never reached again by wrapping. */
export const MMU_NOTIFIER_SEQ_START = 2;

export class MmuNotifierSubscriptionsState implements MmuNotifierSubscriptions {
  /** The classic subscriptions: an RCU hlist, newest first. */
  first: MmuNotifier | null = null;
  /** Some mmu_interval_notifier was ever inserted on this mm. */
  hasItree = false;
  /** subscriptions->lock (a spinlock). */
  readonly lock: Spinlock;
  /** Even when idle; odd while an invalidation overlapping some interval runs. */
  invalidateSeq = MMU_NOTIFIER_SEQ_START;
  /** Invalidations between start and end, overlapping an interval or not. */
  activeInvalidateRanges = 0;
  /** The interval notifiers, keyed by [start, last]. */
  readonly itree = new IntervalTree<MmuIntervalNotifier>();
  /** Readers and removers waiting for invalidate_seq to move on. */
  readonly wq: WaitQueueHead;
  /** Inserts and removes held back until the last active invalidation ends. */
  deferredList: MmuIntervalNotifier[] = [];
  /** Tasks inside an interval notifier's ->invalidate (they must not remove one). */
  readonly inCallback = new Set<Task>();

  constructor(readonly mm: MmStruct) {
    this.lock = new Spinlock(mm.k, `notifier_subscriptions(${mm.name}).lock`, "mmu_notifier.lock");
    this.wq = new WaitQueueHead(mm.k, `notifier_subscriptions(${mm.name}).wq`);
  }

  /**
   * __mmu_notifier_invalidate_range_start(): the interval notifiers first, then the
   * classic ones. -EAGAIN (non-blockable only) means every subscriber that did start
   * has already been ended here; the caller must not call end.
   */
  *invalidateRangeStart(range: MmuNotifierRange): KGen<number> {
    const k = this.mm.k;
    invalidateStartMapAcquire(k);
    let ret = 0;
    if (this.hasItree) ret = yield* mnItreeInvalidate(this, range);
    // As in the kernel, an -EAGAIN of the classic list after the interval tree
    // succeeded leaves the tree's invalidation open: the caller will not end it.
    if (ret === 0 && this.first !== null) ret = yield* mnHlistInvalidateRangeStart(this, range);
    invalidateStartMapRelease(k);
    return ret;
  }

  /** __mmu_notifier_invalidate_range_end(). */
  *invalidateRangeEnd(range: MmuNotifierRange): KGen {
    const k = this.mm.k;
    invalidateStartMapAcquire(k);
    if (this.hasItree) yield* mnItreeInvEnd(this);
    if (this.first !== null) yield* mnHlistInvalidateEnd(this, range);
    invalidateStartMapRelease(k);
  }

  /** __mmu_notifier_release(): exit_mmap() is tearing the address space down. */
  *release(mm: MmStruct): KGen {
    if (this.hasItree) yield* mnItreeRelease(this, mm);
    if (this.first !== null) yield* mnHlistRelease(this, mm);
  }
}

/** mm->notifier_subscriptions as the notifier layer's own struct, or null if none. */
export function mmuNotifierSubscriptionsOf(mm: MmStruct): MmuNotifierSubscriptionsState | null {
  const subs = mm.notifierSubscriptions;
  if (subs === null) return null;
  if (!(subs instanceof MmuNotifierSubscriptionsState)) {
    throw new Error(`${mm.name}: notifier_subscriptions of a foreign implementation`);
  }
  return subs;
}
