/**
 * The address space of a process.
 *
 * Models struct mm_struct (include/linux/mm_types.h) with its two counts from
 * kernel/fork.c and include/linux/sched/mm.h: mm_users (mmget, mmget_not_zero, mmput)
 * keeps the address space — VMAs and page tables — alive, and when it drops to zero
 * exit_mmap() tears them down; mm_count (mmgrab, mmdrop) keeps only the struct, which is
 * freed (kasan) when it drops to zero. All users together hold one mm_count, so a grab
 * is not a get: a grabbed mm may have no address space left.
 *
 * Also the VMA tree (the maple tree, modelled as an array sorted by address: find_vma,
 * vma_lookup), mmap_lock (an rw-semaphore of lockdep class "mmap_lock") and
 * mm->notifier_subscriptions, which the notifier layer sets.
 */
import { KernelGlobal, type Kernel } from "../sim/kernel.ts";
import { KObject } from "../sim/kasan.ts";
import { accessFields, objectId } from "../sim/objectAccess.ts";
import { Kref } from "../sim/sync/kref.ts";
import { RwSemaphore } from "../sim/sync/rwsem.ts";
import { Spinlock } from "../sim/sync/spinlock.ts";
import type { KGen } from "../sim/task.ts";
import { exitMmap } from "./exit.ts";
import type { Hmm } from "./notifier/hmmMirror.ts";
import type { MmuNotifierSubscriptions } from "./notifier/subscriptions.ts";
import { PageTable } from "./pageTable.ts";
import type { PhysMem } from "./physMem.ts";
import type { VmAreaStruct } from "./vma.ts";

/** TASK_SIZE on x86-64 with 4-level paging: user addresses are below 2^47. */
export const TASK_SIZE = 2 ** 47;
/** mm->mmap_base: top-down allocation of unfixed mappings starts below it. */
export const MMAP_BASE = 0x7f00_0000_0000;
/** The lowest address mmap hands out (vm.mmap_min_addr). */
export const MMAP_MIN_ADDR = 0x10000;

/** The machine's count of mm structs made, so names do not depend on earlier runs. */
const MM_IDS = new KernelGlobal("mm ids", () => ({ last: 0 }));

export class MmStruct extends KObject {
  /** mm_users: holders of the address space. */
  readonly mmUsers: Kref;
  /** mm_count: holders of the struct (all users together count as one). */
  readonly mmCount: Kref;
  /** mmap_lock (mmap_sem before v5.8). */
  readonly mmapLock: RwSemaphore;
  /** mm->notifier_subscriptions: set by the notifier layer on first registration. */
  notifierSubscriptions: MmuNotifierSubscriptions | null = null;
  /** mm->hmm (the 2019 HMM mirror API of seed 002), guarded by page_table_lock. */
  hmm: Hmm | null = null;
  /** mm->page_table_lock. */
  readonly pageTableLock: Spinlock;
  /** The VMAs, sorted by address, non-overlapping. */
  readonly vmas: VmAreaStruct[] = [];
  readonly pgtable = new PageTable();
  readonly mmapBase = MMAP_BASE;
  readonly taskSize = TASK_SIZE;
  /** A name for reports (the owning process's pid, once known). */
  name: string;
  /** exit_mmap() has run: the address space is gone (MMF_OOM_SKIP-like). */
  exited = false;
  /**
   * mm->pinned_vm: pages pinned long-term on behalf of this mm (ib_umem_get charges
   * RLIMIT_MEMLOCK against it). A fresh mm, also a forked one, starts at zero.
   */
  pinnedVm = 0;

  constructor(
    readonly k: Kernel,
    readonly phys: PhysMem,
    name?: string,
  ) {
    super(k.kasan, "mm");
    const id = ++k.global(MM_IDS).last;
    this.name = name ?? `mm${id}`;
    this.mmUsers = new Kref(k, `mm_users(${this.name})`);
    this.mmCount = new Kref(k, `mm_count(${this.name})`);
    this.mmapLock = new RwSemaphore(k, `mmap_lock(${this.name})`, "mmap_lock");
    this.pageTableLock = new Spinlock(k, `page_table_lock(${this.name})`, "mm.page_table_lock");
  }
}

/**
 * The trace's object id of an address space (`mm:pid100`); its parts are `.users`
 * (mm_users) and `.vmas` (the VMA tree exit_mmap tears down).
 */
export function mmId(mm: MmStruct): string {
  return `mm:${objectId(mm.name)}`;
}

/** mm_users as the trace shows it after `fn`, read or written. */
function traceMmUsers(mm: MmStruct, fn: string, write: boolean): void {
  if (mm.k.trace === null) return;
  const id = [`${mmId(mm)}.users`];
  const access = write ? accessFields([], id) : accessFields(id);
  mm.k.event(fn, { mm: mm.name, mm_users: mm.mmUsers.read(), ...access });
}

/** mm_alloc(): a new, empty address space with mm_users = mm_count = 1. */
export function mmAlloc(k: Kernel, phys: PhysMem, name?: string): MmStruct {
  return new MmStruct(k, phys, name);
}

/** mmget(): the caller must already hold a user (or know the mm is live). */
export function mmget(mm: MmStruct): void {
  mm.k.kasan.check(mm, "mmget");
  mm.mmUsers.get();
  traceMmUsers(mm, "mmget", true);
}

/** mmget_not_zero(): fails once the address space is being torn down. */
export function mmgetNotZero(mm: MmStruct): boolean {
  if (!mm.k.kasan.check(mm, "mmget_not_zero")) return false;
  const got = mm.mmUsers.getUnlessZero();
  traceMmUsers(mm, "mmget_not_zero", got);
  return got;
}

/** mmput(): the last user runs exit_mmap() and drops the users' mm_count. */
export function* mmput(mm: MmStruct): KGen {
  mm.k.mightSleep("mmput");
  if (!mm.k.kasan.check(mm, "mmput")) return;
  const last = mm.mmUsers.put(noop);
  traceMmUsers(mm, "mmput", true);
  if (!last) return;
  yield* exitMmap(mm);
  mmdrop(mm);
}

function noop(): void {
  // exit_mmap follows the put, as a generator
}

/** mmgrab(): keeps the struct (not the address space) alive. */
export function mmgrab(mm: MmStruct): void {
  mm.k.kasan.check(mm, "mmgrab");
  mm.mmCount.get();
}

/** mmdrop(): the last reference frees the struct. */
export function mmdrop(mm: MmStruct): void {
  if (!mm.k.kasan.check(mm, "mmdrop")) return;
  mm.mmCount.put(() => {
    mm.k.kasan.free(mm);
  });
}

/** mmap_read_lock(). */
export function* mmapReadLock(mm: MmStruct): KGen {
  mm.k.kasan.check(mm, "mmap_read_lock");
  yield* mm.mmapLock.downRead();
}

/** mmap_read_unlock(). */
export function mmapReadUnlock(mm: MmStruct): void {
  mm.mmapLock.upRead();
}

/** mmap_write_lock(). */
export function* mmapWriteLock(mm: MmStruct): KGen {
  mm.k.kasan.check(mm, "mmap_write_lock");
  yield* mm.mmapLock.downWrite();
}

/** mmap_write_unlock(). */
export function mmapWriteUnlock(mm: MmStruct): void {
  mm.mmapLock.upWrite();
}

/** Index of the first VMA with vmEnd > addr (binary search). */
function firstEndingAfter(mm: MmStruct, addr: number): number {
  let lo = 0;
  let hi = mm.vmas.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((mm.vmas[mid] as VmAreaStruct).vmEnd > addr) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** find_vma(): the first VMA ending above `addr` (it may start above `addr` too). */
export function findVma(mm: MmStruct, addr: number): VmAreaStruct | null {
  return mm.vmas[firstEndingAfter(mm, addr)] ?? null;
}

/** vma_lookup(): the VMA containing `addr`, or null. */
export function vmaLookup(mm: MmStruct, addr: number): VmAreaStruct | null {
  const vma = findVma(mm, addr);
  return vma !== null && vma.vmStart <= addr ? vma : null;
}

/** The VMAs overlapping [start, end), by address. */
export function vmasIn(mm: MmStruct, start: number, end: number): VmAreaStruct[] {
  const out: VmAreaStruct[] = [];
  for (let i = firstEndingAfter(mm, start); i < mm.vmas.length; i++) {
    const vma = mm.vmas[i] as VmAreaStruct;
    if (vma.vmStart >= end) break;
    out.push(vma);
  }
  return out;
}

/** vma_link(): inserts `vma` in address order; it must not overlap another. */
export function vmaLink(mm: MmStruct, vma: VmAreaStruct): void {
  const i = firstEndingAfter(mm, vma.vmStart);
  const next = mm.vmas[i];
  if (next !== undefined && next.vmStart < vma.vmEnd) {
    throw new Error(`${vma.describe()} overlaps ${next.describe()}`);
  }
  mm.vmas.splice(i, 0, vma);
  // __vma_link_file(): a file VMA joins its mapping's i_mmap (left in remove_vma).
  vma.vmFile?.inode?.iMmap.add(vma);
}

/** Removes `vma` from the tree (it stays allocated until vm_area_free). */
export function vmaUnlink(mm: MmStruct, vma: VmAreaStruct): void {
  const i = mm.vmas.indexOf(vma);
  if (i < 0) throw new Error(`${vma.describe()} is not in ${mm.name}`);
  mm.vmas.splice(i, 1);
}
