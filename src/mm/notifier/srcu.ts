/**
 * The notifier layer's kernel-wide state: its SRCU domain, the lockdep map of
 * invalidate_range_start, and non_block_start() / non_block_end().
 *
 * Models three pieces of mm/mmu_notifier.c and kernel/sched/core.c:
 * - the file-static `srcu`: every mm's classic notifier list is read under it, and
 *   unregister / put / mmu_notifier_synchronize() wait for (or defer to) its grace
 *   period, so a notifier is never freed while a callback may still run in it;
 * - `__mmu_notifier_invalidate_range_start_map`: a lockdep pseudo-lock held while the
 *   start callbacks run, which mmu_interval_read_begin() and
 *   mmu_interval_notifier_remove() take and drop at once, so lockdep sees "waits for an
 *   invalidation" as a lock and reports a caller that could deadlock with one;
 * - non_block_start() / non_block_end(): around the callbacks of a non-blockable range
 *   (the OOM reaper), sleeping is a bug. The model raises the task's atomic depth, so
 *   the simulation kernel reports any sleep there as sleeping in atomic context.
 *
 * One of each per simulated kernel, as the kernel has one of each per boot.
 */
import { KernelGlobal, type Kernel } from "../../sim/kernel.ts";
import type { LockInstance } from "../../sim/lockdep.ts";
import { SrcuStruct } from "../../sim/sync/srcu.ts";

interface NotifierGlobals {
  readonly srcu: SrcuStruct;
  readonly startMap: LockInstance;
  /** The map exists since v5.4 ("mm/mmu_notifiers: prime lockdep"); v5.3 had none. */
  startMapEnabled: boolean;
  /**
   * Whether a failed non-blockable start ends the subscribers that started (the fix
   * "mm/mmu_notifiers: ensure range_end() is paired with range_start()"). Kernels of
   * the classic design's era did not; neither does catalog defect
   * mmu-notifier-unpaired-end.
   */
  pairEndsOnFailedStart: boolean;
}

/** mm/mmu_notifier.c's statics. */
const NOTIFIER_GLOBALS = new KernelGlobal<NotifierGlobals>("mm/mmu_notifier.c", (k) => {
  const name = "__mmu_notifier_invalidate_range_start_map";
  return {
    srcu: new SrcuStruct(k, "mmu_notifier_srcu"),
    startMap: { lockClass: k.lockdep.classFor(name), name },
    startMapEnabled: true,
    pairEndsOnFailedStart: true,
  };
});

function globals(k: Kernel): NotifierGlobals {
  return k.global(NOTIFIER_GLOBALS);
}

/** The `srcu` of mm/mmu_notifier.c. */
export function mmuNotifierSrcu(k: Kernel): SrcuStruct {
  return globals(k).srcu;
}

/**
 * Whether this kernel has the lockdep map of invalidate_range_start. Kernels before
 * v5.4 (the classic design's era) did not: without it, the classic per-mm notifier's
 * umem_rwsem, held from start to end, is not ordered against the map.
 */
export function setInvalidateStartMap(k: Kernel, enabled: boolean): void {
  globals(k).startMapEnabled = enabled;
}

/** Puts the notifier core in the era before the start/end pairing fix (see above). */
export function setPairEndsOnFailedStart(k: Kernel, enabled: boolean): void {
  globals(k).pairEndsOnFailedStart = enabled;
}

/** Whether this kernel ends started subscribers after a failed non-blockable start. */
export function pairsEndsOnFailedStart(k: Kernel): boolean {
  return globals(k).pairEndsOnFailedStart && !k.hasDefect("mmu-notifier-unpaired-end");
}

/** lock_map_acquire(&__mmu_notifier_invalidate_range_start_map). */
export function invalidateStartMapAcquire(k: Kernel): void {
  const g = globals(k);
  if (g.startMapEnabled) k.lockdep.acquire(k.currentTask(), g.startMap, "exclusive", false);
}

/** lock_map_release(&__mmu_notifier_invalidate_range_start_map). */
export function invalidateStartMapRelease(k: Kernel): void {
  const g = globals(k);
  if (g.startMapEnabled) k.lockdep.release(k.currentTask(), g.startMap);
}

/** Whether the current task is inside invalidate_range_start (holds the map). */
export function inInvalidateStart(k: Kernel): boolean {
  return k.lockdep.isHeld(k.currentTask(), globals(k).startMap);
}

/** non_block_start(): from here until non_block_end(), sleeping is a violation. */
export function nonBlockStart(k: Kernel): void {
  k.currentTask().atomicDepth++;
}

/** non_block_end(). */
export function nonBlockEnd(k: Kernel): void {
  k.currentTask().atomicDepth--;
}
