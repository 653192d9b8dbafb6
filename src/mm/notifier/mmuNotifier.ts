/**
 * Classic MMU notifiers: struct mmu_notifier and its registration API.
 *
 * Models mm/mmu_notifier.c (the hlist half, as of v5.3 plus the later get/put API of
 * v5.4): __mmu_notifier_register() / mmu_notifier_register(), mmu_notifier_unregister()
 * (calls ->release itself if exit_mmap() has not yet, then waits a full SRCU grace
 * period), mmu_notifier_unregister_no_release() (v5.3: unlinks without any wait, which
 * is what made "struct hmm freed while a callback still runs in it" possible),
 * mmu_notifier_get_locked() / mmu_notifier_get() / mmu_notifier_put() (the last put
 * frees through ops->free_notifier after an SRCU grace period, via call_srcu),
 * mmu_notifier_synchronize() and mmu_notifier_call_srcu().
 *
 * The list itself is an RCU hlist (newest first): a removed node keeps its `next`
 * pointer, so a reader already standing on it walks on, exactly the window SRCU closes.
 * A notifier embedded in a driver object names that object as `container`; every
 * dereference by a list walker is a KASAN check of it.
 *
 * Simplification: mm_take_all_locks() is not modelled; registration holds mmap_lock
 * for write, which already excludes every invalidation the mm core issues.
 */
import type { KObject } from "../../sim/kasan.ts";
import type { Kernel } from "../../sim/kernel.ts";
import type { KGen } from "../../sim/task.ts";
import { KernelBug } from "../../sim/violation.ts";
import { EOVERFLOW } from "../../sim/errno.ts";
import { mmapWriteLock, mmapWriteUnlock, mmdrop, mmgrab, type MmStruct } from "../mmStruct.ts";
import {
  MmuNotifierSubscriptionsState,
  mmuNotifierSubscriptionsOf,
} from "./mmuNotifierSubscriptions.ts";
import { hlistAddHeadRcu, hlistDelInitRcu } from "./mnHlist.ts";
import { mmuNotifierSrcu } from "./srcu.ts";
import type { MmuNotifierRange } from "./subscriptions.ts";

/** struct mmu_notifier_ops (the callbacks odpsim's users need). */
export interface MmuNotifierOps {
  readonly name: string;
  /** ->release: the mm is going away (exit_mmap) or the notifier is unregistered. */
  readonly release?: (sub: MmuNotifier, mm: MmStruct) => KGen;
  /** ->invalidate_range_start: 0, or -EAGAIN when !blockable and it would sleep. */
  readonly invalidateRangeStart?: (sub: MmuNotifier, range: MmuNotifierRange) => KGen<number>;
  /** ->invalidate_range_end. */
  readonly invalidateRangeEnd?: (sub: MmuNotifier, range: MmuNotifierRange) => KGen;
  /** ->alloc_notifier for mmu_notifier_get(): a new notifier, or a negative errno. */
  readonly allocNotifier?: (mm: MmStruct) => MmuNotifier | number;
  /** ->free_notifier: runs after an SRCU grace period once the last put is done. */
  readonly freeNotifier?: (sub: MmuNotifier) => void;
}

/** struct mmu_notifier. Drivers subclass it (container_of) or name a `container`. */
export class MmuNotifier {
  /** subscription->mm: set at registration. */
  mm: MmStruct | null = null;
  /** subscription->users: the get/put count. */
  users = 0;
  /** The RCU hlist link: still valid after removal, as hlist_del_rcu leaves it. */
  hlistNext: MmuNotifier | null = null;
  /** !hlist_unhashed(): on some mm's list. */
  hashed = false;
  /**
   * Model bookkeeping, no kernel field: the registration's mm_count reference is still
   * held (set at registration, cleared by the unregister that drops it). The kernel
   * cannot tell a second unregister from a first after exit_mmap unlinked the notifier;
   * odpsim names it where it happens instead of at the use-after-free it leads to.
   */
  holdsMmCount = false;

  constructor(
    readonly ops: MmuNotifierOps,
    /** The object this notifier is embedded in: freeing it frees the notifier. */
    readonly container: KObject | null = null,
  ) {}
}

/**
 * __mmu_notifier_register(): mmap_lock held for write, mm_users > 0. With `sub` null it
 * only makes sure the mm has subscriptions with an interval tree (has_itree).
 */
export function* __mmuNotifierRegister(sub: MmuNotifier | null, mm: MmStruct): KGen<number> {
  const k = mm.k;
  mm.mmapLock.assertHeldWrite();
  if (mm.mmUsers.read() <= 0) {
    throw new KernelBug("bug_on", `mmu_notifier_register on ${mm.name} with mm_users == 0`, {
      mm: mm.name,
    });
  }
  let subs = mmuNotifierSubscriptionsOf(mm);
  if (subs === null) {
    // The first registration allocates the subscriptions and publishes them
    // (smp_store_release); they live until the mm struct is freed.
    subs = new MmuNotifierSubscriptionsState(mm);
    mm.notifierSubscriptions = subs;
  }
  yield "mm_take_all_locks";
  if (sub === null) {
    subs.hasItree = true;
    return 0;
  }
  // The kernel links the hlist node as it is: a notifier still registered would point
  // at itself (or splice the list), and every later walk of the list would spin for ever
  // (a soft lockup). A driver bug with no check there; odpsim names it where it happens.
  if (sub.hashed) {
    throw new KernelBug("bug_on", `${sub.ops.name}: mmu_notifier registered while registered`, {
      mm: mm.name,
    });
  }
  mmgrab(mm); // pairs with the mmdrop of unregister / the put's free
  sub.holdsMmCount = true;
  sub.mm = mm;
  sub.users = 1;
  yield* subs.lock.lock();
  hlistAddHeadRcu(subs, sub);
  subs.lock.unlock();
  k.event("mmu_notifier_register", { mm: mm.name, ops: sub.ops.name });
  return 0;
}

/** mmu_notifier_register(): takes mmap_lock for write around __mmu_notifier_register. */
export function* mmuNotifierRegister(sub: MmuNotifier | null, mm: MmStruct): KGen<number> {
  yield* mmapWriteLock(mm);
  const ret = yield* __mmuNotifierRegister(sub, mm);
  mmapWriteUnlock(mm);
  return ret;
}

/** The registered mm of `sub`, or a BUG (using an unregistered notifier). */
function registeredMm(sub: MmuNotifier): MmStruct {
  if (sub.mm === null) throw new KernelBug("bug_on", `${sub.ops.name}: notifier never registered`);
  return sub.mm;
}

/** The subscriptions a registered notifier's mm must have. */
function subsOfRegistered(mm: MmStruct): MmuNotifierSubscriptionsState {
  const subs = mmuNotifierSubscriptionsOf(mm);
  if (subs === null) throw new KernelBug("bug_on", `${mm.name} has no notifier subscriptions`);
  return subs;
}

/**
 * mmu_notifier_unregister(): if exit_mmap() has not yet released `sub`, calls its
 * ->release here (under SRCU), unlinks it, then waits a full SRCU grace period so no
 * callback can still be running in it when this returns; drops the mm_count.
 */
export function* mmuNotifierUnregister(sub: MmuNotifier, mm: MmStruct): KGen {
  const k = mm.k;
  k.mightSleep("mmu_notifier_unregister");
  const subs = subsOfRegistered(mm);
  const srcu = mmuNotifierSrcu(k);
  yield "mmu_notifier_unregister: hlist_unhashed";
  if (sub.hashed) {
    const id = srcu.readLock();
    if (sub.ops.release !== undefined) yield* sub.ops.release(sub, mm);
    srcu.readUnlock(id);
    yield* subs.lock.lock();
    // Not hlist_del_rcu: __mmu_notifier_release may have unlinked it meanwhile.
    hlistDelInitRcu(subs, sub);
    subs.lock.unlock();
  }
  // Waits for any running method, ->release run by exit_mmap included.
  yield* srcu.synchronize();
  dropRegistrationMmCount(sub, mm, "mmu_notifier_unregister");
}

/**
 * The mmdrop() of an unregister. A notifier unregistered before (and not registered
 * since) no longer holds that reference: the driver removed it twice, and the extra
 * mmdrop frees the mm under whoever still holds it, a use-after-free later in the run.
 * Reported here as mmu_notifier_unregistered_twice; the drop happens as in the kernel.
 */
function dropRegistrationMmCount(sub: MmuNotifier, mm: MmStruct, fn: string): void {
  if (!sub.holdsMmCount) {
    mm.k.report(
      "mmu_notifier_unregistered_twice",
      `${fn}: mmu_notifier ${sub.ops.name} removed twice: its registration's mm_count ` +
        `reference on ${mm.name} was dropped by the first removal, so this mmdrop drops ` +
        `someone else's (the mm is freed early: a use-after-free follows)`,
      { notifier: sub.ops.name, mm: mm.name },
    );
  }
  sub.holdsMmCount = false;
  mmdrop(mm);
}

/**
 * mmu_notifier_unregister_no_release() (removed after v5.3): unlinks `sub` and drops
 * the mm_count, with NO grace period. The caller must not free `sub` before an SRCU
 * grace period (mmu_notifier_call_srcu); freeing it at once is a use-after-free
 * waiting for a callback that is still walking the list.
 */
export function* mmuNotifierUnregisterNoRelease(sub: MmuNotifier, mm: MmStruct): KGen {
  const subs = subsOfRegistered(mm);
  yield* subs.lock.lock();
  hlistDelInitRcu(subs, sub);
  subs.lock.unlock();
  dropRegistrationMmCount(sub, mm, "mmu_notifier_unregister_no_release");
}

/** find_get_mmu_notifier(): an existing notifier with these ops, its users bumped. */
function* findGetMmuNotifier(
  subs: MmuNotifierSubscriptionsState,
  ops: MmuNotifierOps,
): KGen<MmuNotifier | number | null> {
  yield* subs.lock.lock();
  for (let sub = subs.first; sub !== null; sub = sub.hlistNext) {
    subs.mm.k.stepWork("find_get_mmu_notifier");
    if (sub.ops !== ops) continue;
    let found: MmuNotifier | number = EOVERFLOW;
    if (sub.users < 0xffff_ffff) {
      sub.users++;
      found = sub;
    }
    subs.lock.unlock();
    return found;
  }
  subs.lock.unlock();
  return null;
}

/**
 * mmu_notifier_get_locked(): the notifier with `ops` on `mm`, shared and counted, or a
 * new one from ops->alloc_notifier. mmap_lock held for write. A number is -errno.
 */
export function* mmuNotifierGetLocked(
  ops: MmuNotifierOps,
  mm: MmStruct,
): KGen<MmuNotifier | number> {
  mm.mmapLock.assertHeldWrite();
  const subs = mmuNotifierSubscriptionsOf(mm);
  if (subs !== null) {
    const found = yield* findGetMmuNotifier(subs, ops);
    if (found !== null) return found;
  }
  if (ops.allocNotifier === undefined) throw new Error(`${ops.name} has no allocNotifier`);
  const sub = ops.allocNotifier(mm);
  if (typeof sub === "number") return sub;
  const ret = yield* __mmuNotifierRegister(sub, mm);
  if (ret !== 0) {
    ops.freeNotifier?.(sub);
    return ret;
  }
  return sub;
}

/** mmu_notifier_get(). */
export function* mmuNotifierGet(ops: MmuNotifierOps, mm: MmStruct): KGen<MmuNotifier | number> {
  yield* mmapWriteLock(mm);
  const ret = yield* mmuNotifierGetLocked(ops, mm);
  mmapWriteUnlock(mm);
  return ret;
}

/**
 * mmu_notifier_put(): drops a get. The last put unlinks the notifier and frees it with
 * ops->free_notifier from call_srcu (then drops the mm_count), so a callback still
 * running in it finishes first. Does not call ->release.
 */
export function* mmuNotifierPut(sub: MmuNotifier): KGen {
  const mm = registeredMm(sub);
  const k = mm.k;
  const subs = subsOfRegistered(mm);
  yield* subs.lock.lock();
  if (k.warnOn(sub.users === 0, `mmu_notifier_put of ${sub.ops.name} with no users`)) {
    subs.lock.unlock();
    return;
  }
  sub.users--;
  if (sub.users > 0) {
    subs.lock.unlock();
    return;
  }
  hlistDelInitRcu(subs, sub);
  subs.lock.unlock();
  sub.holdsMmCount = false;
  mmuNotifierSrcu(k).callSrcu(() => {
    sub.ops.freeNotifier?.(sub);
    mmdrop(mm);
    return undefined;
  });
}

/** mmu_notifier_synchronize(): waits until every call_srcu'd free has run. */
export function* mmuNotifierSynchronize(k: Kernel): KGen {
  yield* mmuNotifierSrcu(k).synchronize();
}

/** mmu_notifier_call_srcu() (v5.3): runs `fn` after an SRCU grace period. */
export function mmuNotifierCallSrcu(k: Kernel, fn: () => KGen | undefined): void {
  mmuNotifierSrcu(k).callSrcu(fn);
}
