/**
 * Interval notifiers: a subscription to invalidations of one VA range, with a
 * sequence-count interlock for the driver's fault path.
 *
 * Models struct mmu_interval_notifier and its API in mm/mmu_notifier.c and
 * include/linux/mmu_notifier.h (v5.5+): mmu_interval_notifier_insert() (the caller must
 * hold an mmget: the mm must be live), _insert_locked() (mmap_lock held for write),
 * mmu_interval_notifier_remove() (may sleep until the invalidation covering the
 * notifier has ended; must not be called from an ->invalidate callback),
 * mmu_interval_read_begin(), mmu_interval_read_retry(), mmu_interval_check_retry() and
 * mmu_interval_set_seq().
 *
 * The driver's side of the interlock:
 *
 *     seq = yield* mmuIntervalReadBegin(sub)   // sleeps while an invalidation hits sub
 *     ... hmm_range_fault(range) ...           // -EBUSY: go back to read_begin
 *     lock(driver lock)
 *     if (mmuIntervalReadRetry(sub, seq)) { unlock; go back to read_begin }
 *     program the device
 *     unlock(driver lock)
 *
 * and ->invalidate(sub, range, curSeq) takes the same driver lock, calls
 * mmuIntervalSetSeq(sub, curSeq) and tears the device mapping down.
 *
 * The seq read that decides when remove() may return is the named spot
 * mmuIntervalSeqReleased(): locked since "mm/mmu_notifier.c: fix race in
 * mmu_interval_notifier_remove()". The racy original read invalidate_seq without the
 * lock, so remove could return (and the caller free the notifier) while
 * mn_itree_inv_end() was still walking the deferred list through it.
 */
import type { KObject } from "../../sim/kasan.ts";
import { EINVAL, EOVERFLOW } from "../../sim/errno.ts";
import type { KGen } from "../../sim/task.ts";
import { KernelBug } from "../../sim/violation.ts";
import type { IntervalTreeNode } from "../intervalTree.ts";
import { mmdrop, mmgrab, type MmStruct } from "../mmStruct.ts";
import { __mmuNotifierRegister, mmuNotifierRegister } from "./mmuNotifier.ts";
import {
  mmuNotifierSubscriptionsOf,
  type MmuNotifierSubscriptionsState,
} from "./mmuNotifierSubscriptions.ts";
import {
  deferredListId,
  intervalSubName,
  invalidateSeqId,
  mnItreeIsInvalidating,
  ULONG_MAX,
} from "./mnItree.ts";
import { accessFields, guardId, objectId } from "../../sim/objectAccess.ts";
import { invalidateStartMapAcquire, invalidateStartMapRelease } from "./srcu.ts";
import type { MmuNotifierRange } from "./subscriptions.ts";

/**
 * struct mmu_interval_notifier_ops. `C` is the driver object the notifier is embedded
 * in (what container_of() gives the callback): `sub.container` is typed as it.
 */
export interface MmuIntervalNotifierOps<C extends KObject | null = KObject | null> {
  readonly name: string;
  /**
   * ->invalidate: stop using pages in `range`; call mmuIntervalSetSeq(sub, curSeq)
   * under the driver lock. False only when !range.blockable and it would sleep.
   * (A method, so ops for one container type serve the tree's notifiers of any.)
   */
  invalidate(sub: MmuIntervalNotifier<C>, range: MmuNotifierRange, curSeq: number): KGen<boolean>;
}

/** struct mmu_interval_notifier, embedded in a driver object of type `C`. */
export class MmuIntervalNotifier<C extends KObject | null = KObject | null> {
  /** interval_sub->mm (grabbed while inserted). */
  mm: MmStruct | null = null;
  /** The notifier's own seq: odd values stored by ->invalidate via set_seq. */
  invalidateSeq = 0;
  /** First and last (inclusive) address covered. */
  start = 0;
  last = 0;
  /** Its node in the mm's interval tree, or null (RB_EMPTY_NODE). */
  node: IntervalTreeNode<MmuIntervalNotifier> | null = null;
  /** On subscriptions->deferred_list (a deferred insert or remove). */
  onDeferredList = false;

  constructor(
    public ops: MmuIntervalNotifierOps<C>,
    /**
     * The object this notifier is embedded in: freeing it frees the notifier. Left out,
     * a free-standing notifier (C is then null; the cast only spells that default).
     */
    readonly container: C = null as C,
  ) {}
}

/** The subscriptions of the mm `sub` is inserted in. */
function subsOfInserted(sub: MmuIntervalNotifier): MmuNotifierSubscriptionsState {
  const mm = sub.mm;
  const subs = mm === null ? null : mmuNotifierSubscriptionsOf(mm);
  // The kernel dereferences interval_sub->mm, NULL for a notifier never inserted: an oops.
  if (subs === null) {
    throw new KernelBug("bug_on", `${sub.ops.name}: interval notifier was never inserted`);
  }
  return subs;
}

/** __mmu_interval_notifier_insert(). */
function* __mmuIntervalNotifierInsert(
  sub: MmuIntervalNotifier,
  mm: MmStruct,
  subs: MmuNotifierSubscriptionsState,
  start: number,
  length: number,
  ops: MmuIntervalNotifierOps,
): KGen<number> {
  const k = mm.k;
  // The kernel links interval_sub->interval_tree into the tree as it is: a notifier
  // still inserted would be linked twice and corrupt the tree (a driver bug, no check).
  if (sub.node !== null || sub.onDeferredList) {
    throw new KernelBug("bug_on", `${ops.name}: interval notifier inserted while inserted`);
  }
  sub.mm = mm;
  sub.ops = ops;
  sub.start = start;
  // The tree stores closed intervals: last = start + length - 1, which must not wrap.
  if (length === 0 || start + length - 1 > ULONG_MAX) return EOVERFLOW;
  sub.last = start + length - 1;
  const dead = mm.mmUsers.read() <= 0;
  if (k.warnOn(dead, `mmu_interval_notifier_insert on dead ${mm.name}`, { mm: mm.name })) {
    return EINVAL;
  }
  mmgrab(mm); // pairs with the mmdrop in remove
  yield* subs.lock.lock();
  if (subs.activeInvalidateRanges > 0) {
    // An invalidation is running and may cover the new range: the new notifier must
    // start out "collided" (odd seq). If the tree is being walked, defer the insert.
    if (mnItreeIsInvalidating(subs)) {
      sub.onDeferredList = true;
      subs.deferredList.unshift(sub);
    } else {
      subs.invalidateSeq |= 1;
      sub.node = subs.itree.insert(sub.start, sub.last, sub);
    }
    sub.invalidateSeq = subs.invalidateSeq;
  } else {
    k.warnOn(mnItreeIsInvalidating(subs), "interval tree invalidating with no active range");
    // Odd, and not the current seq: read_begin will not wait for it.
    sub.invalidateSeq = subs.invalidateSeq - 1;
    sub.node = subs.itree.insert(sub.start, sub.last, sub);
  }
  subs.lock.unlock();
  k.event("mmu_interval_notifier_insert", { ops: ops.name, start, last: sub.last });
  return 0;
}

/**
 * mmu_interval_notifier_insert(): subscribes `sub` to [start, start + length) of `mm`.
 * The caller holds an mmget; a dead mm is a WARN and -EINVAL (or the BUG of the first
 * registration when the mm has no interval tree yet).
 */
export function* mmuIntervalNotifierInsert(
  sub: MmuIntervalNotifier,
  mm: MmStruct,
  start: number,
  length: number,
  ops: MmuIntervalNotifierOps = sub.ops,
): KGen<number> {
  mm.k.mightSleep("mmu_interval_notifier_insert");
  yield "smp_load_acquire(mm->notifier_subscriptions)";
  let subs = mmuNotifierSubscriptionsOf(mm);
  if (subs === null || !subs.hasItree) {
    const ret = yield* mmuNotifierRegister(null, mm);
    if (ret !== 0) return ret;
    subs = mmuNotifierSubscriptionsOf(mm);
    if (subs === null) throw new Error("registration left no subscriptions");
  }
  return yield* __mmuIntervalNotifierInsert(sub, mm, subs, start, length, ops);
}

/** mmu_interval_notifier_insert_locked(): the same with mmap_lock held for write. */
export function* mmuIntervalNotifierInsertLocked(
  sub: MmuIntervalNotifier,
  mm: MmStruct,
  start: number,
  length: number,
  ops: MmuIntervalNotifierOps = sub.ops,
): KGen<number> {
  mm.mmapLock.assertHeldWrite();
  let subs = mmuNotifierSubscriptionsOf(mm);
  if (subs === null || !subs.hasItree) {
    const ret = yield* __mmuNotifierRegister(null, mm);
    if (ret !== 0) return ret;
    subs = mmuNotifierSubscriptionsOf(mm);
    if (subs === null) throw new Error("registration left no subscriptions");
  }
  return yield* __mmuIntervalNotifierInsert(sub, mm, subs, start, length, ops);
}

/**
 * THE SPOT of "mm/mmu_notifier.c: fix race in mmu_interval_notifier_remove()": whether
 * the invalidation remove() waits for has finished, read under the lock, so it cannot
 * be seen finished while mn_itree_inv_end() (which bumps the seq first) is still
 * walking the deferred list. The buggy original read the seq without the lock.
 */
export function* mmuIntervalSeqReleased(
  subs: MmuNotifierSubscriptionsState,
  seq: number,
): KGen<boolean> {
  // Catalog defect interval-remove-lockless-seq: the original read, without the lock,
  // sees the seq bumped while mn_itree_inv_end() still walks the deferred list.
  if (subs.mm.k.hasDefect("interval-remove-lockless-seq")) {
    yield "mmu_interval_seq_released: READ_ONCE(invalidate_seq)";
    return traceSeqReleased(subs, seq);
  }
  yield* subs.lock.lock();
  const released = traceSeqReleased(subs, seq);
  subs.lock.unlock();
  return released;
}

/** invalidate_seq != seq, read for the trace too. */
function traceSeqReleased(subs: MmuNotifierSubscriptionsState, seq: number): boolean {
  const released = subs.invalidateSeq !== seq;
  if (subs.mm.k.trace !== null) {
    subs.mm.k.event("mmu_interval_seq_released", {
      invalidate_seq: subs.invalidateSeq,
      seq,
      released,
      ...accessFields([invalidateSeqId(subs)]),
    });
  }
  return released;
}

/**
 * mmu_interval_notifier_remove(): unsubscribes `sub`. If an invalidation is walking
 * the tree, the removal is deferred and this sleeps until that invalidation has ended;
 * after it returns no callback runs in `sub` and the caller may free it. Calling it
 * from an ->invalidate callback would wait for itself: reported.
 */
export function* mmuIntervalNotifierRemove(sub: MmuIntervalNotifier): KGen {
  const subs = subsOfInserted(sub);
  const mm = subs.mm;
  const k = mm.k;
  k.mightSleep("mmu_interval_notifier_remove");
  const inCallback = subs.inCallback.has(k.currentTask());
  if (inCallback) {
    k.report(
      "mmu_interval_remove_in_callback",
      `${sub.ops.name}: mmu_interval_notifier_remove from an invalidate callback`,
      { mm: mm.name, ops: sub.ops.name },
    );
  }
  let seq = 0;
  yield* subs.lock.lock();
  if (mnItreeIsInvalidating(subs)) {
    if (sub.node === null) {
      // Removed after an insert that was itself deferred: just drop the insert.
      subs.deferredList = subs.deferredList.filter((s) => s !== sub);
      sub.onDeferredList = false;
    } else {
      sub.onDeferredList = true;
      subs.deferredList.unshift(sub);
      seq = subs.invalidateSeq;
      k.event("mmu_interval_notifier_remove", {
        deferred: intervalSubName(sub),
        seq,
        ...accessFields([invalidateSeqId(subs)], [deferredListId(subs)]),
      });
    }
  } else {
    if (sub.node === null) {
      k.warnOn(true, `${sub.ops.name}: removing an interval notifier not in the tree`);
    } else {
      subs.itree.remove(sub.node);
      sub.node = null;
    }
  }
  subs.lock.unlock();
  // Sleeping on an invalidation: the caller must hold nothing a callback takes.
  if (!inCallback) {
    invalidateStartMapAcquire(k);
    invalidateStartMapRelease(k);
  }
  if (seq !== 0) {
    yield "mmu_interval_notifier_remove: wait_event";
    yield* waitSeqReleased(subs, seq);
  }
  k.event("mmu_interval_notifier_remove", { ops: sub.ops.name });
  mmdrop(mm); // pairs with the mmgrab of insert
}

/** wait_event(subs->wq, mmu_interval_seq_released(subs, seq)). */
function* waitSeqReleased(subs: MmuNotifierSubscriptionsState, seq: number): KGen {
  for (;;) {
    if (yield* mmuIntervalSeqReleased(subs, seq)) return;
    yield* subs.wq.waitEvent(() => subs.invalidateSeq !== seq);
  }
}

/**
 * mmu_interval_read_begin(): the seq to check the fault's result against. Sleeps while
 * an invalidation that hit `sub` is running (its seq equals the mm's odd seq); an
 * invalidation elsewhere in the mm does not make it wait.
 */
export function* mmuIntervalReadBegin(sub: MmuIntervalNotifier): KGen<number> {
  const subs = subsOfInserted(sub);
  const k = subs.mm.k;
  yield* subs.lock.lock();
  const seq = sub.invalidateSeq;
  const isInvalidating = seq === subs.invalidateSeq;
  subs.lock.unlock();
  // The wait below is on an invalidation: lockdep must see it as one.
  invalidateStartMapAcquire(k);
  invalidateStartMapRelease(k);
  if (isInvalidating) yield* subs.wq.waitEvent(() => subs.invalidateSeq !== seq);
  traceInterlock(sub, "mmu_interval_read_begin", { seq }, false);
  return seq;
}

/**
 * The notifier's invalidate_seq as the trace shows it under `fn`: the interlock of the
 * notifier's container (`~umem_odp(explicit)#9.interlock` for an ODP umem's).
 */
function traceInterlock(
  sub: MmuIntervalNotifier,
  fn: string,
  extra: Record<string, number | boolean>,
  write: boolean,
): void {
  const k = sub.mm?.k;
  if (k === undefined || k.trace === null) return;
  const id = [guardId(`${objectId(intervalSubName(sub))}.interlock`)];
  const access = write ? accessFields([], id) : accessFields(id);
  k.event(fn, { invalidate_seq: sub.invalidateSeq, ...extra, ...access });
}

/**
 * mmu_interval_read_retry(): under the driver lock, whether an invalidation hit `sub`
 * since read_begin returned `seq` (then the fault's result must be thrown away).
 */
export function mmuIntervalReadRetry(sub: MmuIntervalNotifier, seq: number): boolean {
  const retry = sub.invalidateSeq !== seq;
  traceInterlock(sub, "mmu_interval_read_retry", { seq, retry }, false);
  return retry;
}

/**
 * mmu_interval_check_retry(): the same test without the driver lock, as an early exit
 * (hmm_range_fault uses it); false positives are impossible, misses are not.
 */
export function mmuIntervalCheckRetry(sub: MmuIntervalNotifier, seq: number): boolean {
  const retry = sub.invalidateSeq !== seq;
  traceInterlock(sub, "mmu_interval_check_retry", { seq, retry }, false);
  return retry;
}

/** mmu_interval_set_seq(): ->invalidate records the invalidation, under the driver lock. */
export function mmuIntervalSetSeq(sub: MmuIntervalNotifier, curSeq: number): void {
  sub.invalidateSeq = curSeq;
  traceInterlock(sub, "mmu_interval_set_seq", {}, true);
}
