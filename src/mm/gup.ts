/**
 * get_user_pages: taking references (or pins) on the pages behind a user VA range,
 * faulting them in first. The classic ODP design calls this from its page-fault path.
 *
 * Models mm/gup.c: __get_user_pages() with check_vma_flags() (VM_IO / VM_PFNMAP →
 * -EFAULT; a write needs VM_WRITE, or FOLL_FORCE on a COW mapping; a read needs VM_READ
 * unless forced), follow_page_mask() (a write through a read-only entry faults unless
 * FOLL_FORCE may write to an exclusive anonymous page), faultin_page() (VM_FAULT_OOM →
 * -ENOMEM, SIGBUS / SIGSEGV → -EFAULT) and the FOLL_GET / FOLL_PIN accounting. As in
 * Linux, pages already taken are returned as a short count; an error is returned only
 * when the first page fails.
 *
 * The caller holds mmap_lock (read is enough), as get_user_pages_remote() requires. Each
 * page is its own step (the loop's cond_resched()); following a present page is atomic
 * within it (the PTE lock).
 * Simplification: FOLL_PIN does not unshare a non-exclusive anonymous page on a read
 * pin (gup_must_unshare); FOLL_LONGTERM only matters for fs-dax, which is not modelled.
 */
import { EFAULT, ENOMEM } from "../sim/errno.ts";
import { accessFields } from "../sim/objectAccess.ts";
import type { KGen } from "../sim/task.ts";
import { handleMmFault } from "./memory.ts";
import { vmaLookup, type MmStruct } from "./mmStruct.ts";
import { PAGE_SIZE, frameId, type Page } from "./page.ts";
import { pteWalkPfn } from "./pageTable.ts";
import type { PhysMem } from "./physMem.ts";
import {
  FAULT_FLAG_REMOTE,
  FAULT_FLAG_WRITE,
  VM_FAULT_ERROR,
  VM_FAULT_OOM,
  VM_IO,
  VM_MAYREAD,
  VM_PFNMAP,
  VM_READ,
  VM_WRITE,
  isCowMapping,
  type VmAreaStruct,
} from "./vma.ts";

/** FOLL_* flags. */
export interface GupFlags {
  /** FOLL_WRITE. */
  readonly write?: boolean;
  /** FOLL_FORCE: ptrace-style access that ignores VM_WRITE / VM_READ on COW mappings. */
  readonly force?: boolean;
  /** FOLL_LONGTERM. */
  readonly longterm?: boolean;
  /** FOLL_PIN instead of FOLL_GET: release with unpinUserPage. */
  readonly pin?: boolean;
}

/**
 * get_user_pages_remote(mm, start, nr_pages, gup_flags, pages): pushes the pfn of each
 * page taken onto `pages`; returns how many, or a negative errno if none.
 */
export function* getUserPagesRemote(
  mm: MmStruct,
  start: number,
  nrPages: number,
  flags: GupFlags,
  pages: number[],
): KGen<number> {
  mm.mmapLock.assertHeld();
  if (!mm.k.kasan.check(mm, "get_user_pages_remote")) return EFAULT;
  const first = Math.floor(start / PAGE_SIZE) * PAGE_SIZE;
  let vma: VmAreaStruct | null = null;
  for (let i = 0; i < nrPages; i++) {
    // __get_user_pages() calls cond_resched() before following each page, so another
    // task may run between two pages even when every page is present.
    yield "get_user_pages";
    const addr = first + i * PAGE_SIZE;
    if (vma === null || addr >= vma.vmEnd) {
      vma = vmaLookup(mm, addr);
      const err = vma === null ? EFAULT : checkVmaFlags(vma, flags);
      if (err !== 0) return i > 0 ? i : err;
    }
    const page = yield* followOrFault(mm, vma as VmAreaStruct, addr, flags);
    if (typeof page === "number") return i > 0 ? i : page;
    if (flags.pin === true) mm.phys.pinPage(page);
    else mm.phys.getPage(page);
    pages.push(page.pfn);
    if (mm.k.trace !== null) {
      const frame = frameId(page.pfn, 1, page.generation);
      mm.k.event("get_user_pages", { va: addr, pfn: page.pfn, ...accessFields([frame]) });
    }
  }
  return nrPages;
}

/** pin_user_pages_remote(): FOLL_PIN. */
export function* pinUserPagesRemote(
  mm: MmStruct,
  start: number,
  nrPages: number,
  flags: GupFlags,
  pages: number[],
): KGen<number> {
  return yield* getUserPagesRemote(mm, start, nrPages, { ...flags, pin: true }, pages);
}

/** put_page() on each pfn taken with FOLL_GET. */
export function putUserPages(phys: PhysMem, pfns: readonly number[]): void {
  for (const pfn of pfns) phys.putPage(phys.pfnToPage(pfn), "put_user_pages");
}

/** unpin_user_pages_dirty_lock(): drops pins, dirtying the pages first if asked. */
export function unpinUserPagesDirtyLock(
  phys: PhysMem,
  pfns: readonly number[],
  makeDirty: boolean,
): void {
  for (const pfn of pfns) {
    const page = phys.pfnToPage(pfn);
    if (makeDirty && page.head.kind !== "zero") page.head.dirty = true;
    phys.unpinPage(page, "unpin_user_pages_dirty_lock");
  }
}

/** check_vma_flags(). */
function checkVmaFlags(vma: VmAreaStruct, flags: GupFlags): number {
  const f = vma.vmFlags;
  const force = flags.force === true;
  if ((f & (VM_IO | VM_PFNMAP)) !== 0) return EFAULT;
  if (flags.write === true) {
    if ((f & VM_WRITE) === 0 && (!force || !isCowMapping(f))) return EFAULT;
  } else if ((f & VM_READ) === 0 && (!force || (f & VM_MAYREAD) === 0)) {
    return EFAULT;
  }
  return 0;
}

/** follow_page_mask(), faulting with faultin_page() until the page is there. */
function* followOrFault(
  mm: MmStruct,
  vma: VmAreaStruct,
  addr: number,
  flags: GupFlags,
): KGen<Page | number> {
  for (let tries = 0; ; tries++) {
    const page = followPage(mm, addr, flags);
    if (page !== null) return page;
    if (tries > 2) return EFAULT;
    const write = flags.write === true;
    const ret = yield* handleMmFault(vma, addr, FAULT_FLAG_REMOTE | (write ? FAULT_FLAG_WRITE : 0));
    if ((ret & VM_FAULT_OOM) !== 0) return ENOMEM;
    if ((ret & VM_FAULT_ERROR) !== 0) return EFAULT;
  }
}

/** The page mapped at `addr` if the access is allowed now, else null (fault). */
function followPage(mm: MmStruct, addr: number, flags: GupFlags): Page | null {
  const walk = mm.pgtable.lookup(addr);
  if (walk === null || walk.pte.protnone) return null;
  const pte = walk.pte;
  const pfn = pteWalkPfn(walk, addr);
  if (pte.special) return mm.phys.isZeroPfn(pfn) && flags.write !== true ? mm.phys.zeroPage : null;
  const page = mm.phys.pfnToPage(pfn);
  if (flags.write === true && !pte.writable) {
    // can_follow_write_pte(): FOLL_FORCE may write to a page only this mm maps.
    if (flags.force !== true || !page.anonExclusive) return null;
  }
  pte.young = true;
  if (flags.write === true) pte.dirty = true;
  return page;
}
