/**
 * HMM, the 2019 mirror API, exactly as seed 002's ODP patch uses it — races included.
 *
 * Models mm/hmm.c and include/linux/hmm.h of v5.2 (the tree the patch was rebased on,
 * 5.2-rc1): struct hmm (one per mm, found through mm->hmm, with a kref, `lock`, the
 * `ranges` and `mirrors` lists, `mirrors_sem`, `notifiers`, `dead` and a wait queue,
 * registered on the mm as one classic mmu_notifier), hmm_mirror_register() /
 * hmm_mirror_unregister() with ops->sync_cpu_device_pagetables(mirror, update) and
 * ops->release(mirror), hmm_range_register() / hmm_range_unregister(),
 * hmm_range_valid(), hmm_range_wait_until_valid(), hmm_range_snapshot(),
 * hmm_range_fault(range, block), hmm_range_dma_map() / hmm_range_dma_unmap(), the
 * device-entry encoding (range->flags[], range->values[], range->pfn_shift) and
 * hmm_mirror_mm_is_alive().
 *
 * Reproduced as posted, so the review thread's races are there to be found (the
 * hmm-mirror design's default carries the fixes of the first three, each undone by its
 * catalog defect: rdma/mlx5/odp/hmmMirrorAsPosted.ts):
 * - hmm_range_fault() walks the VMAs with no mmget_not_zero() — only the unlocked
 *   hmm->dead / range->valid flags stand between it and exit_mmap(); walking an mm
 *   whose mm_users is 0 is reported (`hmm_walk_without_mmget`) where it happens.
 * - the notifier callbacks find the hmm with mm_get_hmm() (READ_ONCE(mm->hmm), then
 *   kref_get_unless_zero on it) and hmm_free() unlinks with
 *   mmu_notifier_unregister_no_release() and kfree()s at once, so a callback still
 *   inside SRCU can touch a freed struct hmm. Fix: "mm/hmm: Fix use after free with
 *   struct hmm in the mmu notifiers" (container_of + kref_get_unless_zero in the
 *   callbacks, mmu_notifier_call_srcu to free): the spots are mmGetHmmForNotifier()
 *   and hmmFreeMemory().
 * - hmm_invalidate_range_start() returns 0 when a mirror refused a non-blockable
 *   range (a shadowed `ret`), a failed mirrors_sem trylock leaves `notifiers` raised,
 *   and the ranges lock is a mutex the non-blockable end sleeps on: "mm/hmm: Fix error
 *   flows in hmm_invalidate_range_start" (v5.3) — catalog defect
 *   hmm-invalidate-start-error-flow restores the posted code; the spots are
 *   hmmSyncMirrors() and hmmInvalidateRangeStart(), and the lock's type in struct hmm.
 * - hmm_free() takes mm->page_table_lock after its own mmdrop may have freed the mm:
 *   "mm/hmm: Hold a mmgrab from hmm to mm" — the spot is in hmmFree().
 * - the zero page is a special PTE, so a read-only walk over it fails with -EFAULT:
 *   "mm/hmm: allow snapshot of the special zero page" — the spot is
 *   hmmPteIsSpecialError().
 * Every load or store of hmm->dead, hmm->mm and range->valid is a preemption point.
 *
 * Simplifications: hmm_mm_destroy() (from __mmdrop) is not modelled — in v5.2 the
 * registered notifier's mmgrab keeps the mm struct alive for as long as the hmm is
 * registered; mm->hmm and mm->page_table_lock live in a side table keyed by the mm;
 * device-private pages do not exist (HMM_PFN_DEVICE_PRIVATE is never set); a fault
 * never returns VM_FAULT_RETRY (no I/O), so `block` changes nothing.
 */
import { EAGAIN, EBUSY, EFAULT, EINVAL, ENOMEM, EPERM } from "../../sim/errno.ts";
import { KObject } from "../../sim/kasan.ts";
import { guardId, objectId } from "../../sim/objectAccess.ts";
import type { Kernel } from "../../sim/kernel.ts";
import { NSEC_PER_MSEC } from "../../sim/clock.ts";
import { Kref } from "../../sim/sync/kref.ts";
import { Mutex } from "../../sim/sync/mutex.ts";
import { Spinlock } from "../../sim/sync/spinlock.ts";
import { RwSemaphore } from "../../sim/sync/rwsem.ts";
import { WaitQueueHead } from "../../sim/sync/waitQueue.ts";
import type { KGen } from "../../sim/task.ts";
import { KernelBug } from "../../sim/violation.ts";
import { setPageDirty } from "../file.ts";
import { handleMmFault } from "../memory.ts";
import { findVma, mmId, mmapReadUnlock, type MmStruct } from "../mmStruct.ts";
import { HPAGE_PMD_SHIFT, HPAGE_PMD_SIZE, PAGE_SHIFT, PAGE_SIZE } from "../page.ts";
import type { Pte } from "../pageTable.ts";
import type { PhysMem } from "../physMem.ts";
import {
  FAULT_FLAG_REMOTE,
  FAULT_FLAG_WRITE,
  VM_FAULT_ERROR,
  VM_FAULT_RETRY,
  VM_HUGETLB,
  VM_IO,
  VM_MIXEDMAP,
  VM_PFNMAP,
  VM_READ,
  type VmAreaStruct,
} from "../vma.ts";
import {
  __mmuNotifierRegister,
  MmuNotifier,
  mmuNotifierCallSrcu,
  mmuNotifierUnregisterNoRelease,
} from "./mmuNotifier.ts";
import type { MmuNotifierRange } from "./subscriptions.ts";

/** enum hmm_pfn_flag_e: indexes of range->flags[]. */
export const HMM_PFN_VALID = 0;
export const HMM_PFN_WRITE = 1;
export const HMM_PFN_DEVICE_PRIVATE = 2;
export const HMM_PFN_FLAG_MAX = 3;
/** enum hmm_pfn_value_e: indexes of range->values[]. */
export const HMM_PFN_ERROR = 0;
export const HMM_PFN_NONE = 1;
export const HMM_PFN_SPECIAL = 2;
export const HMM_PFN_VALUE_MAX = 3;
/** HMM_RANGE_DEFAULT_TIMEOUT, in milliseconds. */
export const HMM_RANGE_DEFAULT_TIMEOUT = 1000;

/** struct hmm_update: what sync_cpu_device_pagetables is told. */
export interface HmmUpdate {
  readonly start: number;
  readonly end: number;
  readonly event: "HMM_UPDATE_INVALIDATE";
  readonly blockable: boolean;
}

/** struct hmm_mirror_ops. */
export interface HmmMirrorOps {
  readonly name: string;
  /** The mm is going away: stop using it, all of it. */
  readonly release?: (mirror: HmmMirror) => KGen;
  /** Stop device access to [start, end); -EAGAIN only when !blockable. */
  readonly syncCpuDevicePagetables: (mirror: HmmMirror, update: HmmUpdate) => KGen<number>;
}

/** struct hmm_mirror: drivers embed it (container) or subclass it. */
export class HmmMirror {
  hmm: Hmm | null = null;

  constructor(
    readonly ops: HmmMirrorOps,
    readonly container: KObject | null = null,
  ) {}
}

/** struct hmm. */
export class Hmm extends KObject {
  /** hmm->mm: no reference of its own (v5.2). */
  mm: MmStruct | null;
  readonly kref: Kref;
  /**
   * hmm->ranges_lock, a spinlock, protects `ranges` and `notifiers` since "mm/hmm: Fix
   * error flows in hmm_invalidate_range_start"; as posted it was the mutex hmm->lock
   * (catalog defect hmm-invalidate-start-error-flow).
   */
  readonly lock: Mutex | Spinlock;
  readonly ranges: HmmRange[] = [];
  readonly mirrors: HmmMirror[] = [];
  readonly mmuNotifier: MmuNotifier;
  readonly mirrorsSem: RwSemaphore;
  readonly wq: WaitQueueHead;
  /** Invalidations between start and end. */
  notifiers = 0;
  /** Set (unlocked) by hmm_release() once exit_mmap() runs. */
  dead = false;

  readonly k: Kernel;

  constructor(mm: MmStruct) {
    const k = mm.k;
    super(k.kasan, "hmm");
    this.k = k;
    this.mm = mm;
    this.kref = new Kref(k, `hmm(${mm.name})`);
    this.lock = k.hasDefect(HMM_START_ERROR_FLOW)
      ? new Mutex(k, `hmm(${mm.name}).lock`, "hmm.lock")
      : new Spinlock(k, `hmm(${mm.name}).ranges_lock`, "hmm.ranges_lock");
    this.mirrorsSem = new RwSemaphore(k, `hmm(${mm.name}).mirrors_sem`, "hmm.mirrors_sem");
    this.wq = new WaitQueueHead(k, `hmm(${mm.name}).wq`);
    this.mmuNotifier = new MmuNotifier(hmmMmuNotifierOps, this);
  }
}

/** A window into an array, standing for a C pointer into the middle of one. */
export interface ArraySlice {
  readonly array: number[];
  readonly offset: number;
}

/** struct hmm_range (v5.2). */
export interface HmmRange {
  hmm: Hmm | null;
  vma: VmAreaStruct | null;
  start: number;
  end: number;
  /** range->pfns: one device entry per 2^pageShift bytes, from pfns.offset. */
  pfns: ArraySlice;
  /** range->flags[HMM_PFN_FLAG_MAX]: the bit each flag is encoded as. */
  flags: readonly number[];
  /** range->values[HMM_PFN_VALUE_MAX]: the whole-entry values ERROR, NONE, SPECIAL. */
  values: readonly number[];
  defaultFlags: number;
  pfnFlagsMask: number;
  pageShift: number;
  pfnShift: number;
  /** Unlocked: true while no invalidation overlapping it has run since registration. */
  valid: boolean;
}

/** A fresh, unregistered range (the caller fills pfns / flags / values). */
export function hmmRangeInit(): HmmRange {
  return {
    hmm: null,
    vma: null,
    start: 0,
    end: 0,
    pfns: { array: [], offset: 0 },
    flags: [0, 0, 0],
    values: [0, 0, 0],
    defaultFlags: 0,
    pfnFlagsMask: 0,
    pageShift: PAGE_SHIFT,
    pfnShift: 0,
    valid: false,
  };
}

/** `entry & flag` for one-bit flags of a non-negative entry (arithmetic: > 32 bits). */
export function hmmEntryHas(entry: number, flag: number): boolean {
  return flag > 0 && entry >= 0 && Math.floor(entry / flag) % 2 === 1;
}

/** hmm_device_entry_from_pfn(). */
export function hmmDeviceEntryFromPfn(range: HmmRange, pfn: number): number {
  return (range.flags[HMM_PFN_VALID] ?? 0) + pfn * 2 ** range.pfnShift;
}

/** hmm_device_entry_to_pfn(): the pfn, or -1 for NONE / ERROR / SPECIAL / not valid. */
export function hmmDeviceEntryToPfn(range: HmmRange, entry: number): number {
  if (entry === range.values[HMM_PFN_NONE]) return -1;
  if (entry === range.values[HMM_PFN_ERROR]) return -1;
  if (entry === range.values[HMM_PFN_SPECIAL]) return -1;
  if (!hmmEntryHas(entry, range.flags[HMM_PFN_VALID] ?? 0)) return -1;
  return Math.floor(entry / 2 ** range.pfnShift);
}

/** hmm_range_valid(): an unlocked read. */
export function hmmRangeValid(range: HmmRange): boolean {
  return range.valid;
}

// ---------------------------------------------------------------- mm->hmm

/** mm->hmm, for tests and oracles (no reference taken). */
export function mmHmmOf(mm: MmStruct): Hmm | null {
  return mm.hmm;
}

/** mm_get_hmm(): READ_ONCE(mm->hmm), then a reference if it is not already dying. */
export function* mmGetHmm(mm: MmStruct): KGen<Hmm | null> {
  const k = mm.k;
  yield "mm_get_hmm: READ_ONCE(mm->hmm)";
  const hmm = mm.hmm;
  if (k.trace !== null) {
    k.event("mm_get_hmm", { "mm->hmm": hmm?.objName ?? "NULL", reads: `${mmId(mm)}.hmm` });
  }
  if (hmm === null) return null;
  yield "mm_get_hmm: kref_get_unless_zero";
  if (!k.kasan.check(hmm, "mm_get_hmm: kref_get_unless_zero(&hmm->kref)")) return null;
  return hmm.kref.getUnlessZero() ? hmm : null;
}

/**
 * THE SPOT of "mm/hmm: Fix use after free with struct hmm in the mmu notifiers": how a
 * notifier callback finds its hmm. As posted, through mm->hmm (mm_get_hmm), which may
 * be NULL or another hmm by now; the fix uses container_of(mn) and
 * kref_get_unless_zero on it, safe because the fix also frees the hmm after SRCU.
 */
export function* mmGetHmmForNotifier(mn: MmuNotifier, mm: MmStruct): KGen<Hmm | null> {
  if (mm.k.hasDefect(HMM_NOTIFIER_UAF)) return yield* mmGetHmm(mm);
  const hmm = mn.container;
  if (!(hmm instanceof Hmm)) throw new Error("hmm notifier without its hmm");
  yield "hmm notifier: kref_get_unless_zero(&hmm->kref)";
  if (!mm.k.kasan.check(hmm, "hmm notifier: kref_get_unless_zero(&hmm->kref)")) return null;
  return hmm.kref.getUnlessZero() ? hmm : null;
}

/** Catalog defect #8: the posted code, before the struct hmm use-after-free fix. */
export const HMM_NOTIFIER_UAF = "hmm-notifier-uses-freed-hmm";

/** Catalog defect: hmm_invalidate_range_start()'s error flows as posted (hmmSyncMirrors). */
export const HMM_START_ERROR_FLOW = "hmm-invalidate-start-error-flow";

/**
 * What a callback does when it finds no hmm: as posted it dereferences NULL
 * (VM_BUG_ON); with the fix the hmm is merely going away and the callback returns.
 */
function noHmm(k: Kernel, where: string): void {
  if (k.hasDefect(HMM_NOTIFIER_UAF)) throw new KernelBug("bug_on", `VM_BUG_ON(!hmm) in ${where}`);
}

/** hmm_get_or_create(): mm->hmm, or a new one registered on the mm (mmap_lock write). */
function* hmmGetOrCreate(mm: MmStruct): KGen<Hmm | null> {
  const existing = yield* mmGetHmm(mm);
  if (existing !== null) return existing;
  const hmm = new Hmm(mm);
  yield* mm.pageTableLock.lock();
  const cleanup = mm.hmm !== null;
  if (!cleanup) mm.hmm = hmm;
  mm.pageTableLock.unlock();
  if (cleanup) {
    mm.k.kasan.free(hmm);
    return null;
  }
  // Only reached with mmap_lock held for write: the first hmm_mirror_register().
  const ret = yield* __mmuNotifierRegister(hmm.mmuNotifier, mm);
  if (ret !== 0) {
    yield* mm.pageTableLock.lock();
    if (mm.hmm === hmm) mm.hmm = null;
    mm.pageTableLock.unlock();
    mm.k.kasan.free(hmm);
    return null;
  }
  return hmm;
}

/**
 * THE SPOT of the free half of "mm/hmm: Fix use after free with struct hmm in the mmu
 * notifiers": as posted, kfree() right away although a callback may still hold the
 * hmm inside SRCU; the fix frees it with mmu_notifier_call_srcu().
 */
export function hmmFreeMemory(hmm: Hmm): void {
  if (hmm.k.hasDefect(HMM_NOTIFIER_UAF)) {
    hmm.k.kasan.free(hmm);
    return;
  }
  mmuNotifierCallSrcu(hmm.k, () => {
    hmm.k.kasan.free(hmm);
    return undefined;
  });
}

/** hmm_free(): the last reference is gone. */
function* hmmFree(hmm: Hmm): KGen {
  const mm = hmm.mm;
  if (mm === null) {
    hmmFreeMemory(hmm);
    return;
  }
  // Unlinks without any grace period: no fence against a callback in flight.
  yield* mmuNotifierUnregisterNoRelease(hmm.mmuNotifier, mm);
  // That mmdrop may have been the mm's last: "mm/hmm: Hold a mmgrab from hmm to mm".
  mm.k.kasan.check(mm, "hmm_free: spin_lock(&mm->page_table_lock)");
  yield* mm.pageTableLock.lock();
  if (mm.hmm === hmm) {
    mm.hmm = null;
    mm.k.event("hmm_free", { "mm->hmm": "NULL", writes: `${mmId(mm)}.hmm` });
  }
  mm.pageTableLock.unlock();
  hmmFreeMemory(hmm);
}

/** kref_put's release: hmm_free() runs after it, as a generator. */
function noRelease(): void {
  // the free follows in hmmPut
}

/** hmm_put(). */
function* hmmPut(hmm: Hmm): KGen {
  if (hmm.kref.put(noRelease)) yield* hmmFree(hmm);
}

/** The Hmm behind an access, checked for use after free. */
function hmmCheck(k: Kernel, hmm: Hmm, what: string): boolean {
  return k.kasan.check(hmm, what);
}

// ---------------------------------------------------------------- the mmu notifier

/** The trace's guard id of hmm->dead. */
function hmmDeadId(hmm: Hmm): string {
  return guardId(`${objectId(hmm.objName)}.dead`);
}

/** hmm_release(): exit_mmap() runs; every mirror is told, every range invalidated. */
function* hmmRelease(mn: MmuNotifier, mm: MmStruct): KGen {
  const k = mm.k;
  const hmm = yield* mmGetHmmForNotifier(mn, mm);
  if (hmm === null) {
    noHmm(k, "hmm_release");
    return;
  }
  yield "hmm_release: hmm->dead = true";
  hmm.dead = true; // reported to every user through unlocked reads
  k.event("hmm_release", { "hmm->dead": true, writes: hmmDeadId(hmm) });
  yield* hmm.lock.lock();
  for (const range of hmm.ranges) range.valid = false;
  hmm.wq.wakeUp();
  hmm.lock.unlock();
  yield* hmm.mirrorsSem.downWrite();
  for (let mirror = hmm.mirrors[0]; mirror !== undefined; mirror = hmm.mirrors[0]) {
    hmm.mirrors.shift(); // list_del_init
    if (mirror.ops.release !== undefined) {
      // Dropped so the callback may wait for work that itself takes mirrors_sem.
      hmm.mirrorsSem.upWrite();
      yield* mirror.ops.release(mirror);
      yield* hmm.mirrorsSem.downWrite();
    }
  }
  hmm.mirrorsSem.upWrite();
  hmmCheck(k, hmm, "hmm_release: hmm_put");
  yield* hmmPut(hmm);
}

/**
 * THE SPOT of "mm/hmm: Fix error flows in hmm_invalidate_range_start" (v5.3): calls every
 * mirror; one that refuses a non-blockable range makes the start fail with -EAGAIN.
 * As posted (catalog defect hmm-invalidate-start-error-flow) the refusal was assigned to
 * a shadowing inner `ret`, so 0 was returned while the device kept using the pages.
 */
export function* hmmSyncMirrors(hmm: Hmm, update: HmmUpdate): KGen<number> {
  const asPosted = hmm.k.hasDefect(HMM_START_ERROR_FLOW);
  let ret = 0;
  for (const mirror of [...hmm.mirrors]) {
    const rc = yield* mirror.ops.syncCpuDevicePagetables(mirror, update);
    if (rc === 0) continue;
    if (asPosted) {
      if (!update.blockable && rc === EAGAIN) break; // the inner ret; the outer stays 0
      continue;
    }
    if (hmm.k.warnOn(update.blockable || rc !== EAGAIN, "sync_cpu_device_pagetables failed"))
      continue;
    ret = EAGAIN;
    break;
  }
  hmm.mirrorsSem.upRead();
  return ret;
}

/**
 * hmm_invalidate_range_start(). Fixed, the ranges lock is a spinlock (taken whatever the
 * range) and a start that fails undoes its `notifiers` increment (notifiers_decrement),
 * since no end follows a failed start. As posted, a non-blockable start trylocked the
 * mutex, and a failed mirrors_sem trylock or refusing mirror left `notifiers` raised.
 */
function* hmmInvalidateRangeStart(mn: MmuNotifier, nrange: MmuNotifierRange): KGen<number> {
  const k = nrange.mm.k;
  const hmm = yield* mmGetHmmForNotifier(mn, nrange.mm);
  if (hmm === null) {
    noHmm(k, "hmm_invalidate_range_start");
    return 0;
  }
  const update: HmmUpdate = {
    start: nrange.start,
    end: nrange.end,
    event: "HMM_UPDATE_INVALIDATE",
    blockable: nrange.blockable,
  };
  const asPosted = k.hasDefect(HMM_START_ERROR_FLOW);
  let ret = 0;
  hmmCheck(k, hmm, "hmm_invalidate_range_start: hmm->lock");
  if (nrange.blockable || !asPosted) yield* hmm.lock.lock();
  else if (!hmm.lock.trylock()) ret = EAGAIN;
  if (ret === 0) {
    hmm.notifiers++;
    for (const range of hmm.ranges) {
      if (update.end < range.start || update.start >= range.end) continue;
      range.valid = false;
    }
    hmm.lock.unlock();
    if (nrange.blockable) yield* hmm.mirrorsSem.downRead();
    else if (!hmm.mirrorsSem.downReadTrylock()) ret = EAGAIN;
    if (ret === 0) ret = yield* hmmSyncMirrors(hmm, update);
    if (ret !== 0 && !asPosted) {
      yield* hmm.lock.lock();
      notifiersDecrement(hmm);
      hmm.lock.unlock();
    }
  }
  yield* hmmPut(hmm);
  return ret;
}

/** notifiers_decrement(): the last invalidation out makes every range valid again. */
function notifiersDecrement(hmm: Hmm): void {
  hmm.lock.assertHeld();
  hmm.notifiers--;
  if (hmm.notifiers === 0) {
    for (const range of hmm.ranges) range.valid = true;
    hmm.wq.wakeUp();
  }
}

/** hmm_invalidate_range_end(). */
function* hmmInvalidateRangeEnd(mn: MmuNotifier, nrange: MmuNotifierRange): KGen {
  const k = nrange.mm.k;
  const hmm = yield* mmGetHmmForNotifier(mn, nrange.mm);
  if (hmm === null) {
    noHmm(k, "hmm_invalidate_range_end");
    return;
  }
  hmmCheck(k, hmm, "hmm_invalidate_range_end: hmm->lock");
  yield* hmm.lock.lock();
  notifiersDecrement(hmm);
  hmm.lock.unlock();
  yield* hmmPut(hmm);
}

/** hmm_mmu_notifier_ops. */
const hmmMmuNotifierOps = {
  name: "hmm",
  release: hmmRelease,
  invalidateRangeStart: hmmInvalidateRangeStart,
  invalidateRangeEnd: hmmInvalidateRangeEnd,
} as const;

// ---------------------------------------------------------------- mirrors

/**
 * hmm_mirror_register(): the caller holds mmap_lock for write (as the seed does). v5.2
 * says so in a comment; "mm/hmm: Use lockdep instead of comments" (v5.3) made it
 * lockdep_assert_held_exclusive(), as here.
 */
export function* hmmMirrorRegister(mirror: HmmMirror, mm: MmStruct): KGen<number> {
  mm.mmapLock.assertHeldWrite();
  const hmm = yield* hmmGetOrCreate(mm);
  mirror.hmm = hmm;
  if (hmm === null) return ENOMEM;
  yield* hmm.mirrorsSem.downWrite();
  hmm.mirrors.unshift(mirror); // list_add
  hmm.mirrorsSem.upWrite();
  return 0;
}

/** hmm_mirror_unregister(): unlinks the mirror and drops its hmm reference. */
export function* hmmMirrorUnregister(mirror: HmmMirror): KGen {
  yield "hmm_mirror_unregister: READ_ONCE(mirror->hmm)";
  const hmm = mirror.hmm;
  if (hmm === null) return;
  hmmCheck(hmm.k, hmm, "hmm_mirror_unregister: mirrors_sem");
  yield* hmm.mirrorsSem.downWrite();
  const i = hmm.mirrors.indexOf(mirror);
  if (i >= 0) hmm.mirrors.splice(i, 1);
  mirror.hmm = null; // against a double unregister
  hmm.mirrorsSem.upWrite();
  yield* hmmPut(hmm);
}

/** hmm_mirror_mm_is_alive(): unlocked reads of hmm->mm and hmm->dead. */
export function* hmmMirrorMmIsAlive(mirror: HmmMirror): KGen<boolean> {
  const hmm = mirror.hmm;
  if (hmm === null) return false;
  yield "hmm_mirror_mm_is_alive: READ_ONCE(hmm->mm), hmm->dead";
  if (hmm.k.trace !== null) {
    hmm.k.event("hmm_mirror_mm_is_alive", { "hmm->dead": hmm.dead, reads: hmmDeadId(hmm) });
  }
  return !hmm.dead && hmm.mm !== null;
}

// ---------------------------------------------------------------- ranges

/**
 * hmm_range_register(): tracks [start, end) of `mm` against invalidations. Valid at
 * once unless an invalidation is in progress. -EINVAL for a misaligned range, -EFAULT
 * when the mm has no live hmm.
 */
export function* hmmRangeRegister(
  range: HmmRange,
  mm: MmStruct,
  start: number,
  end: number,
  pageShift: number,
): KGen<number> {
  const size = 2 ** pageShift;
  range.valid = false;
  range.hmm = null;
  if (start % size !== 0 || end % size !== 0) return EINVAL;
  if (start >= end) return EINVAL;
  range.pageShift = pageShift;
  range.start = start;
  range.end = end;
  const hmm = yield* hmmGetOrCreate(mm);
  range.hmm = hmm;
  if (hmm === null) return EFAULT;
  yield "hmm_range_register: hmm->mm, hmm->dead";
  if (hmm.mm === null || hmm.dead) {
    yield* hmmPut(hmm);
    return EFAULT;
  }
  yield* hmm.lock.lock();
  hmm.ranges.unshift(range);
  // With an invalidation running the range becomes valid only at its end.
  if (hmm.notifiers === 0) range.valid = true;
  hmm.lock.unlock();
  return 0;
}

/** hmm_range_unregister(): a second call is a no-op (range->hmm is NULL). */
export function* hmmRangeUnregister(range: HmmRange): KGen {
  const hmm = range.hmm;
  if (hmm === null || range.end <= range.start) return;
  hmmCheck(hmm.k, hmm, "hmm_range_unregister: hmm->lock");
  yield* hmm.lock.lock();
  const i = hmm.ranges.indexOf(range);
  if (i >= 0) hmm.ranges.splice(i, 1);
  hmm.lock.unlock();
  range.valid = false;
  yield* hmmPut(hmm);
  range.hmm = null;
}

/**
 * hmm_range_wait_until_valid(): true once the range is valid again, false when the mm
 * is dead or `timeoutMs` of virtual time passed.
 */
export function* hmmRangeWaitUntilValid(range: HmmRange, timeoutMs: number): KGen<boolean> {
  const hmm = range.hmm;
  yield "hmm_range_wait_until_valid: range->hmm->dead, ->mm";
  if (hmm === null || hmm.dead || hmm.mm === null) {
    range.valid = false;
    return false;
  }
  if (range.valid) return true;
  yield* hmm.wq.waitEventTimeout(() => range.valid || hmm.dead, timeoutMs * NSEC_PER_MSEC);
  return range.valid; // the current state, in case we got lucky
}

// ---------------------------------------------------------------- the walk

interface HmmVmaWalk {
  readonly range: HmmRange;
  readonly hmm: Hmm;
  readonly mm: MmStruct;
  readonly fault: boolean;
  readonly block: boolean;
  last: number;
}

function entryIndex(range: HmmRange, addr: number): number {
  return range.pfns.offset + Math.floor((addr - range.start) / 2 ** range.pageShift);
}

function getEntry(range: HmmRange, addr: number): number {
  return range.pfns.array[entryIndex(range, addr)] ?? 0;
}

function setEntry(range: HmmRange, addr: number, value: number): void {
  range.pfns.array[entryIndex(range, addr)] = value;
}

/** hmm_pfns_clear(): NONE over [addr, end). */
function hmmPfnsClear(range: HmmRange, addr: number, end: number): void {
  const step = 2 ** range.pageShift;
  for (let a = addr; a < end; a += step) setEntry(range, a, range.values[HMM_PFN_NONE] ?? 0);
}

/** hmm_pte_need_fault(): [fault, writeFault] for a request against CPU flags. */
function hmmPteNeedFault(w: HmmVmaWalk, req: number, cpuFlags: number): [boolean, boolean] {
  if (!w.fault) return [false, false];
  const range = w.range;
  const has = (flag: number): boolean =>
    (hmmEntryHas(req, flag) && hmmEntryHas(range.pfnFlagsMask, flag)) ||
    hmmEntryHas(range.defaultFlags, flag);
  const valid = range.flags[HMM_PFN_VALID] ?? 0;
  const write = range.flags[HMM_PFN_WRITE] ?? 0;
  if (!has(valid)) return [false, false];
  const writeFault = has(write) && !hmmEntryHas(cpuFlags, write);
  return [writeFault || !hmmEntryHas(cpuFlags, valid), writeFault];
}

/** pte_to_hmm_pfn_flags(). */
function pteToHmmPfnFlags(range: HmmRange, pte: Pte | undefined): number {
  if (pte === undefined || pte.protnone) return 0;
  const valid = range.flags[HMM_PFN_VALID] ?? 0;
  return pte.writable ? valid + (range.flags[HMM_PFN_WRITE] ?? 0) : valid;
}

/**
 * THE SPOT of "mm/hmm: allow snapshot of the special zero page": as posted every
 * special PTE, the zero page included, is HMM_PFN_SPECIAL and fails the walk with
 * -EFAULT; the fix lets the zero page through as an ordinary read-only page.
 */
export function hmmPteIsSpecialError(_mm: MmStruct, pte: Pte): boolean {
  return pte.special;
}

/** hmm_vma_do_fault(): one page; -EBUSY after a successful fault (walk again). */
function* hmmVmaDoFault(
  w: HmmVmaWalk,
  vma: VmAreaStruct,
  addr: number,
  write: boolean,
): KGen<number> {
  let flags = FAULT_FLAG_REMOTE;
  if (write) flags |= FAULT_FLAG_WRITE;
  const ret = yield* handleMmFault(vma, addr, flags);
  if ((ret & VM_FAULT_RETRY) !== 0) return EAGAIN;
  if ((ret & VM_FAULT_ERROR) !== 0) {
    setEntry(w.range, addr, w.range.values[HMM_PFN_ERROR] ?? 0);
    return EFAULT;
  }
  return EBUSY;
}

/** hmm_vma_walk_hole_(): NONE entries, faulting each one if asked. */
function* hmmVmaWalkHole(
  w: HmmVmaWalk,
  vma: VmAreaStruct,
  addr: number,
  end: number,
  fault: boolean,
  writeFault: boolean,
): KGen<number> {
  w.last = addr;
  const step = 2 ** w.range.pageShift;
  for (let a = addr; a < end; a += step) {
    setEntry(w.range, a, w.range.values[HMM_PFN_NONE] ?? 0);
    if (fault || writeFault) {
      const ret = yield* hmmVmaDoFault(w, vma, a, writeFault);
      if (ret !== EBUSY) return ret;
    }
  }
  return fault || writeFault ? EBUSY : 0;
}

/** hmm_vma_handle_pte() / the pmd and hugetlb cases: one device entry at `addr`. */
function* hmmVmaHandleEntry(
  w: HmmVmaWalk,
  vma: VmAreaStruct,
  addr: number,
  end: number,
): KGen<number> {
  const range = w.range;
  const req = getEntry(range, addr);
  setEntry(range, addr, range.values[HMM_PFN_NONE] ?? 0);
  yield "hmm_vma_handle_pte: pte";
  const walk = w.mm.pgtable.lookup(addr);
  const pte = walk?.pte;
  const cpuFlags = pteToHmmPfnFlags(range, pte);
  const [fault, writeFault] = hmmPteNeedFault(w, req, cpuFlags);
  if (fault || writeFault) return yield* hmmVmaWalkHole(w, vma, addr, end, fault, writeFault);
  if (walk === null || pte === undefined || cpuFlags === 0) return 0;
  if (hmmPteIsSpecialError(w.mm, pte)) {
    setEntry(range, addr, range.values[HMM_PFN_SPECIAL] ?? 0);
    return EFAULT;
  }
  const pfn = pte.pfn + Math.floor((addr - walk.base) / PAGE_SIZE);
  setEntry(
    range,
    addr,
    hmmDeviceEntryFromPfn(range, pfn) + (cpuFlags - (range.flags[HMM_PFN_VALID] ?? 0)),
  );
  return 0;
}

/** walk_page_range(start, end) inside one VMA, entry by entry. */
function* hmmWalkVma(w: HmmVmaWalk, vma: VmAreaStruct, start: number, end: number): KGen<number> {
  const step = 2 ** w.range.pageShift;
  for (let a = start; a < end; a += step) {
    const pmdEnd = Math.min(end, (Math.floor(a / HPAGE_PMD_SIZE) + 1) * HPAGE_PMD_SIZE);
    const ret = yield* hmmVmaHandleEntry(w, vma, a, Math.max(pmdEnd, a + step));
    if (ret !== 0) return ret;
    w.last = a + step;
  }
  return 0;
}

/** The checks hmm_range_snapshot() / hmm_range_fault() make of each VMA. */
function hmmCheckVma(w: HmmVmaWalk, vma: VmAreaStruct | null, start: number): number {
  const range = w.range;
  if (vma === null || vma.vmStart > start) return EFAULT; // (no VMA at start)
  if ((vma.vmFlags & (VM_IO | VM_PFNMAP | VM_MIXEDMAP)) !== 0) return EFAULT;
  if ((vma.vmFlags & VM_HUGETLB) !== 0) {
    if (range.pageShift !== HPAGE_PMD_SHIFT && range.pageShift !== PAGE_SHIFT) return EINVAL;
  } else if (range.pageShift !== PAGE_SHIFT) {
    return EINVAL;
  }
  if ((vma.vmFlags & VM_READ) === 0) {
    // No read access: assume no write access either.
    hmmPfnsClear(range, range.start, range.end);
    return EPERM;
  }
  return 0;
}

/** find_vma() on hmm->mm, and the report of a walk with no mmget behind it. */
function* hmmFindVma(w: HmmVmaWalk, addr: number): KGen<VmAreaStruct | null> {
  yield "hmm: find_vma(hmm->mm)";
  const mm = w.mm;
  if (!mm.k.kasan.check(mm, "hmm: find_vma(hmm->mm)")) return null;
  if (mm.k.trace !== null) {
    mm.k.event("find_vma", {
      mm: mm.name,
      mm_users: mm.mmUsers.read(),
      reads: `${mmId(mm)}.vmas ${mmId(mm)}.users`,
    });
  }
  if (mm.mmUsers.read() === 0) {
    mm.k.report(
      "hmm_walk_without_mmget",
      `hmm walks the VMAs of ${mm.name} whose mm_users is 0 (no mmget_not_zero): exit_mmap may be tearing them down`,
      { mm: mm.name },
    );
  }
  return findVma(mm, addr);
}

/** The shared loop of hmm_range_snapshot() and hmm_range_fault(). */
function* hmmRangeWalk(range: HmmRange, fault: boolean, block: boolean): KGen<number> {
  const hmm = range.hmm;
  if (hmm === null) throw new Error("hmm_range walk of an unregistered range");
  yield "hmm_range: hmm->mm, hmm->dead";
  const mm = hmm.mm;
  if (mm === null || hmm.dead) return EFAULT;
  mm.mmapLock.assertHeld();
  const w: HmmVmaWalk = { range, hmm, mm, fault, block, last: range.start };
  let start = range.start;
  do {
    yield "hmm_range: range->valid";
    if (!range.valid) {
      // hmm_range_fault() drops mmap_sem here; the caller must not (seed: "if (ret != -EAGAIN) up_read").
      if (fault) mmapReadUnlock(mm);
      return EAGAIN;
    }
    const vma = yield* hmmFindVma(w, start);
    const bad = hmmCheckVma(w, vma, start);
    if (bad !== 0 || vma === null) return bad !== 0 ? bad : EFAULT;
    range.vma = vma;
    const end = Math.min(range.end, vma.vmEnd);
    w.last = start;
    let ret: number;
    do {
      ret = yield* hmmWalkVma(w, vma, w.last, end);
      yield "hmm_range_fault: range->valid";
    } while (ret === EBUSY && hmmRangeValid(range)); // keep trying while valid
    if (ret !== 0) {
      hmmPfnsClear(range, w.last, range.end);
      return ret;
    }
    start = end;
  } while (start < range.end);
  return Math.floor((w.last - range.start) / PAGE_SIZE);
}

/** hmm_range_snapshot(): pages present now, nothing faulted. Pages walked, or -errno. */
export function* hmmRangeSnapshot(range: HmmRange): KGen<number> {
  return yield* hmmRangeWalk(range, false, true);
}

/**
 * hmm_range_fault(range, block): faults what the request flags ask for. Pages walked,
 * or -errno; -EAGAIN means the range was invalidated and mmap_sem has been dropped.
 */
export function* hmmRangeFault(range: HmmRange, block: boolean): KGen<number> {
  return yield* hmmRangeWalk(range, true, block);
}

// ---------------------------------------------------------------- DMA

/** The model's bus address of a page: an identity map above a fixed offset. */
export const HMM_DMA_OFFSET = 2 ** 40;

/** dma_map_page() of pfn: its bus address (never 0). */
export function hmmDmaAddress(pfn: number): number {
  return HMM_DMA_OFFSET + pfn * PAGE_SIZE;
}

/** The pfn a bus address from hmmDmaAddress() names. */
export function hmmDmaToPfn(dma: number): number {
  return (dma - HMM_DMA_OFFSET) / PAGE_SIZE;
}

/**
 * hmm_range_dma_map(): hmm_range_fault(), then a bus address per valid entry into
 * `daddrs` (0 for the others). The unlocked range->valid check per page is as posted.
 * Pages mapped, or -errno (-EBUSY when nothing was walked or the range went invalid).
 */
export function* hmmRangeDmaMap(range: HmmRange, daddrs: ArraySlice, block: boolean): KGen<number> {
  const ret = yield* hmmRangeFault(range, block);
  if (ret <= 0) return ret !== 0 ? ret : EBUSY;
  const npages = (range.end - range.start) / PAGE_SIZE;
  let mapped = 0;
  for (let i = 0; i < npages; i++) {
    daddrs.array[daddrs.offset + i] = 0;
    const pfn = hmmDeviceEntryToPfn(range, range.pfns.array[range.pfns.offset + i] ?? 0);
    if (pfn < 0) continue;
    yield "hmm_range_dma_map: range->valid";
    if (!range.valid) {
      // Unwind what was mapped (bus addresses need no teardown in the model).
      for (let j = 0; j < i; j++) daddrs.array[daddrs.offset + j] = 0;
      return EBUSY;
    }
    daddrs.array[daddrs.offset + i] = hmmDmaAddress(pfn);
    mapped++;
  }
  return mapped;
}

/**
 * hmm_range_dma_unmap(): unmaps every valid entry, dirtying the writable ones if
 * `dirty`, and resets them to NONE. Entries unmapped, or -EINVAL. `phys` stands for the
 * kernel's direct pfn → struct page access (the range need not be registered: the
 * seed's unmap builds one on the stack).
 */
export function hmmRangeDmaUnmap(
  range: HmmRange,
  phys: PhysMem,
  daddrs: ArraySlice,
  dirty: boolean,
): number {
  if (range.end <= range.start) return EINVAL;
  const npages = (range.end - range.start) / PAGE_SIZE;
  let cpages = 0;
  for (let i = 0; i < npages; i++) {
    const at = range.pfns.offset + i;
    const entry = range.pfns.array[at] ?? 0;
    const pfn = hmmDeviceEntryToPfn(range, entry);
    if (pfn < 0) continue;
    if (dirty && hmmEntryHas(entry, range.flags[HMM_PFN_WRITE] ?? 0)) {
      setPageDirty(phys.pfnToPage(pfn));
    }
    range.pfns.array[at] = range.values[HMM_PFN_NONE] ?? 0;
    daddrs.array[daddrs.offset + i] = 0;
    cpages++;
  }
  return cpages;
}
