/**
 * The MMU-notifier half of i915 userptr objects: a GPU driver's second subscriber on a
 * process's mm, beside the RDMA per-mm notifier.
 *
 * Models struct i915_mmu_notifier, struct i915_mmu_object, add_object() / del_object()
 * and userptr_mn_invalidate_range_start() of drivers/gpu/drm/i915/gem/i915_gem_userptr.c
 * (v5.3). It exists because it is the kind of subscriber the fix "mm/mmu_notifiers:
 * ensure range_end() is paired with range_start()" names: its start refuses a
 * non-blockable range that covers an active object (-EAGAIN) and it has no end, so
 * when it refuses, the subscribers that did start are the ones left without an end.
 *
 *     start: tree empty? 0
 *            spin_lock(mn->lock); for each active object in the range:
 *              !blockable: -EAGAIN
 *              else: unbind from the GPU, put its pages (del_object), look again
 *
 * Simplifications: the GPU side (binding, the pages an active object pins with
 * get_user_pages, the get_pages worker) is not modelled; an object is "active" from
 * i915GemUserptrSetActive() until an invalidation puts its pages.
 */
import type { Kernel } from "../sim/kernel.ts";
import { EAGAIN } from "../sim/errno.ts";
import { Spinlock } from "../sim/sync/spinlock.ts";
import type { KGen } from "../sim/task.ts";
import { IntervalTree, type IntervalTreeNode } from "../mm/intervalTree.ts";
import type { MmStruct } from "../mm/mmStruct.ts";
import { MmuNotifier, mmuNotifierRegister } from "../mm/notifier/mmuNotifier.ts";
import type { MmuNotifierRange } from "../mm/notifier/subscriptions.ts";

/** struct i915_mmu_object: one userptr object's range [start, last] in the tree. */
export class I915MmuObject {
  /** The tree node while the object is active (mo->attached). */
  node: IntervalTreeNode<I915MmuObject> | null = null;

  constructor(
    readonly mn: I915MmuNotifier,
    readonly start: number,
    readonly last: number,
  ) {}
}

/** struct i915_mmu_notifier: one per (device, mm), start callback only. */
export class I915MmuNotifier {
  readonly lock: Spinlock;
  readonly objects = new IntervalTree<I915MmuObject>();
  readonly mn = new MmuNotifier({
    name: "i915_gem_userptr_notifier",
    invalidateRangeStart: (_sub, range) => userptrMnInvalidateRangeStart(this, range),
  });

  constructor(
    readonly k: Kernel,
    readonly mm: MmStruct,
  ) {
    this.lock = new Spinlock(k, `i915_mmu_notifier.lock(${mm.name})`, "i915_mmu_notifier.lock");
  }
}

/** i915_mmu_notifier_create() + mmu_notifier_register(): the notifier, or a negative errno. */
export function* i915MmuNotifierCreate(k: Kernel, mm: MmStruct): KGen<I915MmuNotifier | number> {
  const mn = new I915MmuNotifier(k, mm);
  const ret = yield* mmuNotifierRegister(mn.mn, mm);
  return ret < 0 ? ret : mn;
}

/** i915_gem_userptr_init__mmu_notifier(): an object over [start, start + size). */
export function i915GemUserptrInitMmuNotifier(
  mn: I915MmuNotifier,
  start: number,
  size: number,
): I915MmuObject {
  return new I915MmuObject(mn, start, start + size - 1);
}

/**
 * __i915_gem_userptr_set_active(): the object got (true) or put (false) its pages, so
 * it enters or leaves the notifier's tree (add_object / del_object under mn->lock).
 */
export function* i915GemUserptrSetActive(mo: I915MmuObject, active: boolean): KGen {
  yield* mo.mn.lock.lock();
  if (active && mo.node === null) mo.node = mo.mn.objects.insert(mo.start, mo.last, mo);
  if (!active && mo.node !== null) {
    mo.mn.objects.remove(mo.node);
    mo.node = null;
  }
  mo.mn.lock.unlock();
}

/** userptr_mn_invalidate_range_start(). */
function* userptrMnInvalidateRangeStart(
  mn: I915MmuNotifier,
  range: MmuNotifierRange,
): KGen<number> {
  yield "RB_EMPTY_ROOT(&mn->objects)"; // an unlocked look at the tree
  if (mn.objects.isEmpty()) return 0;
  // Interval ranges are inclusive, the invalidated range is not.
  const last = range.end - 1;
  yield* mn.lock.lock();
  for (let it = mn.objects.iterFirst(range.start, last); it !== null;) {
    if (!range.blockable) {
      mn.lock.unlock();
      return EAGAIN;
    }
    const mo = it.value;
    mn.lock.unlock();
    // i915_gem_object_unbind() + __i915_gem_object_put_pages(): may sleep.
    yield "i915_gem_object_unbind";
    yield* i915GemUserptrSetActive(mo, false);
    yield* mn.lock.lock();
    it = mn.objects.iterFirst(range.start, last);
  }
  mn.lock.unlock();
  return 0;
}
