/**
 * The page fault handler: what happens when an access finds no usable PTE.
 *
 * Models mm/memory.c: handle_mm_fault() → __handle_mm_fault() → handle_pte_fault(),
 * with do_anonymous_page() (the zero page on read, a zeroed frame on write),
 * do_fault() (->fault of the VMA, then do_read_fault / do_cow_fault / do_shared_fault),
 * do_wp_page() (reuse an exclusive anonymous page, make a shared page writable, or
 * copy: wp_page_copy() under an MMU_NOTIFY_CLEAR range), and mm/hugetlb.c's
 * hugetlb_fault(). The THP paths are in huge.ts.
 *
 * The caller holds mmap_lock for read and has checked the access against vm_flags
 * (that is arch code: access.ts, gup.ts). Where Linux allocates (and may sleep) and then
 * rechecks the PTE under the page-table lock (pte_same), so does this code: a racing
 * fault that installed the entry first wins and the loser frees its page.
 *
 * A fault installing an entry where there was none calls no notifier (nothing was
 * mirrored); replacing or write-protecting an existing one does.
 */
import type { KGen } from "../sim/task.ts";
import { setPageDirty } from "./file.ts";
import { doHugePmdAnonymousPage, hugeBase, splitHugePmd, thpVmaAllowable } from "./huge.ts";
import {
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from "./notify.ts";
import { HPAGE_PMD_NR, HPAGE_PMD_SIZE, PAGE_SIZE, type Page } from "./page.ts";
import { Pte } from "./pageTable.ts";
import {
  FAULT_FLAG_WRITE,
  VM_FAULT_ERROR,
  VM_FAULT_FALLBACK,
  VM_FAULT_NOPAGE,
  VM_FAULT_OOM,
  VM_FAULT_RETRY,
  VM_FAULT_SIGBUS,
  VM_FAULT_SIGSEGV,
  VM_HUGETLB,
  VM_SHARED,
  VM_WRITE,
  linearPageIndex,
  vmaIsAnonymous,
  type VmAreaStruct,
  type VmFault,
} from "./vma.ts";

/** handle_mm_fault(): returns 0 or VM_FAULT_* bits. */
export function* handleMmFault(vma: VmAreaStruct, address: number, flags: number): KGen<number> {
  const mm = vma.vmMm;
  if (!mm.k.kasan.check(vma, "handle_mm_fault")) return VM_FAULT_SIGSEGV;
  mm.mmapLock.assertHeld();
  const addr = Math.floor(address / PAGE_SIZE) * PAGE_SIZE;
  if ((vma.vmFlags & VM_HUGETLB) !== 0) return yield* hugetlbFault(vma, addr, flags);
  const write = (flags & FAULT_FLAG_WRITE) !== 0;
  const pmd = mm.pgtable.getPmd(addr);
  if (pmd !== undefined) {
    if (!write || pmd.writable) {
      touch(pmd, write);
      return 0;
    }
    if (
      !pmd.special &&
      mm.phys.pfnToPage(pmd.pfn).anonExclusive &&
      (vma.vmFlags & VM_WRITE) !== 0
    ) {
      pmd.writable = true; // do_huge_pmd_wp_page(): an exclusive THP is reused whole
      touch(pmd, true);
      return 0;
    }
    yield* splitHugePmd(vma, addr); // otherwise it falls back to PTEs
  } else if (write && mm.pgtable.pmdNone(addr) && thpVmaAllowable(vma, addr)) {
    const ret = yield* doHugePmdAnonymousPage(vma, addr);
    if (ret !== VM_FAULT_FALLBACK) return ret;
  }
  return yield* handlePteFault(vma, addr, write);
}

/** handle_pte_fault(). */
function* handlePteFault(vma: VmAreaStruct, addr: number, write: boolean): KGen<number> {
  const pte = vma.vmMm.pgtable.getPte(addr);
  if (pte === undefined) {
    if (vmaIsAnonymous(vma)) return yield* doAnonymousPage(vma, addr, write);
    return yield* doFault(vma, addr, write);
  }
  if (pte.protnone) return VM_FAULT_SIGSEGV;
  if (write && !pte.writable) return yield* doWpPage(vma, addr, pte);
  touch(pte, write);
  return 0;
}

function touch(pte: Pte, write: boolean): void {
  pte.young = true;
  if (write) pte.dirty = true;
}

/** Whether the entry at `addr` is still `expected` (pte_same after retaking the lock). */
function pteSame(vma: VmAreaStruct, addr: number, expected: Pte | undefined): boolean {
  const pt = vma.vmMm.pgtable;
  return pt.getPte(addr) === expected && pt.getPmd(addr) === undefined;
}

/** Maps `page` (whose reference the mapping takes over) at `addr`. */
function mapPage(
  vma: VmAreaStruct,
  addr: number,
  page: Page,
  writable: boolean,
  dirty: boolean,
): void {
  page.head.mapcount++;
  vma.vmMm.pgtable.setPte(addr, new Pte(page.pfn, writable, dirty));
}

/** do_anonymous_page(). */
function* doAnonymousPage(vma: VmAreaStruct, addr: number, write: boolean): KGen<number> {
  const mm = vma.vmMm;
  if (!write) {
    const zero = new Pte(mm.phys.zeroPage.pfn, false, false, true, true);
    mm.pgtable.setPte(addr, zero);
    return 0;
  }
  const page = mm.phys.allocPage("anon", "do_anonymous_page");
  if (page === null) return VM_FAULT_OOM;
  yield "do_anonymous_page"; // the allocation may sleep; then take the PTE lock
  if (!pteSame(vma, addr, undefined)) {
    mm.phys.putPage(page);
    return 0;
  }
  page.anonExclusive = true;
  mapPage(vma, addr, page, (vma.vmFlags & VM_WRITE) !== 0, true);
  return 0;
}

/** do_fault(): ->fault, then map the page read-only, copied (private write) or shared. */
function* doFault(vma: VmAreaStruct, addr: number, write: boolean): KGen<number> {
  const mm = vma.vmMm;
  const fault = vma.vmOps?.fault;
  if (fault === undefined) return VM_FAULT_SIGBUS;
  const vmf: VmFault = {
    vma,
    address: addr,
    pgoff: linearPageIndex(vma, addr),
    flags: write ? FAULT_FLAG_WRITE : 0,
    page: null,
  };
  const ret = yield* fault(vmf);
  if ((ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)) !== 0) return ret;
  const page = vmf.page;
  if (page === null) return VM_FAULT_SIGBUS;
  const shared = (vma.vmFlags & VM_SHARED) !== 0;
  if (write && !shared) return yield* doCowFault(vma, addr, page);
  if (!pteSame(vma, addr, undefined)) {
    mm.phys.putPage(page);
    return 0;
  }
  if (page === mm.phys.zeroPage) {
    mm.pgtable.setPte(addr, new Pte(page.pfn, false, false, true, true));
    return 0;
  }
  const writable = shared && (vma.vmFlags & VM_WRITE) !== 0;
  if (write) setPageDirty(page);
  mapPage(vma, addr, page, writable, write);
  return 0;
}

/** do_cow_fault(): a private write to a file page maps a private anonymous copy. */
function* doCowFault(vma: VmAreaStruct, addr: number, src: Page): KGen<number> {
  const mm = vma.vmMm;
  const page = mm.phys.allocPage("anon", "do_cow_fault");
  if (page !== null) mm.phys.copyPage(page, src);
  mm.phys.putPage(src);
  if (page === null) return VM_FAULT_OOM;
  yield "do_cow_fault"; // the allocation may sleep
  if (!pteSame(vma, addr, undefined)) {
    mm.phys.putPage(page);
    return 0;
  }
  page.anonExclusive = true;
  mapPage(vma, addr, page, (vma.vmFlags & VM_WRITE) !== 0, true);
  return 0;
}

/**
 * maybe_mkwrite(): a write fault makes the entry writable only if the VMA allows writes.
 * A fault forced on a read-only VMA (GUP with FOLL_FORCE, a mirror's walk) leaves it
 * read-only.
 */
function maybeMkwrite(vma: VmAreaStruct): boolean {
  return (vma.vmFlags & VM_WRITE) !== 0;
}

/** do_wp_page(): a write to a present, write-protected PTE. */
function* doWpPage(vma: VmAreaStruct, addr: number, pte: Pte): KGen<number> {
  const mm = vma.vmMm;
  const isZero = mm.phys.isZeroPfn(pte.pfn);
  if ((vma.vmFlags & VM_SHARED) !== 0 && !isZero && !pte.special) {
    // wp_page_shared(): a shared page just becomes writable (and dirty).
    pte.writable = maybeMkwrite(vma);
    touch(pte, true);
    setPageDirty(mm.phys.pfnToPage(pte.pfn));
    return 0;
  }
  if (pte.special && !isZero) return VM_FAULT_SIGBUS;
  const old = isZero ? null : mm.phys.pfnToPage(pte.pfn);
  if (old !== null && old.anonExclusive) {
    // wp_page_reuse(): nobody else maps it, so it may simply become writable.
    pte.writable = maybeMkwrite(vma);
    touch(pte, true);
    return 0;
  }
  // do_wp_page() pins the old page (get_page) before it drops the page-table lock for
  // the copy, so nothing frees or migrates it meanwhile; wp_page_copy() drops that pin.
  if (old !== null) mm.phys.getPage(old);
  return yield* wpPageCopy(vma, addr, pte, old);
}

/**
 * wp_page_copy(): a new frame with the old contents replaces the shared one. The caller
 * holds a reference on `old`, dropped here on every path; the mapping's own reference is
 * dropped only when the new page replaces it.
 */
function* wpPageCopy(vma: VmAreaStruct, addr: number, pte: Pte, old: Page | null): KGen<number> {
  const mm = vma.vmMm;
  const page = mm.phys.allocPage("anon", "wp_page_copy");
  if (page === null) {
    if (old !== null) mm.phys.putPage(old, "wp_page_copy");
    return VM_FAULT_OOM;
  }
  if (old !== null) mm.phys.copyPage(page, old);
  yield "wp_page_copy"; // allocation and copy may sleep
  const range = mmuNotifierRangeInit(mm, "CLEAR", addr, addr + PAGE_SIZE);
  yield* mmuNotifierInvalidateRangeStart(range);
  if (pteSame(vma, addr, pte) && !pte.writable) {
    mm.pgtable.clearPte(addr);
    page.anonExclusive = true;
    mapPage(vma, addr, page, (vma.vmFlags & VM_WRITE) !== 0, true);
    if (old !== null) {
      old.head.mapcount--;
      mm.phys.putPage(old, "wp_page_copy");
    }
  } else {
    mm.phys.putPage(page);
  }
  yield* mmuNotifierInvalidateRangeEnd(range);
  if (old !== null) mm.phys.putPage(old, "wp_page_copy");
  return 0;
}

/** hugetlb_fault(): hugetlb memory is always mapped by 2 MiB entries. */
function* hugetlbFault(vma: VmAreaStruct, addr: number, flags: number): KGen<number> {
  const mm = vma.vmMm;
  const base = hugeBase(addr);
  const write = (flags & FAULT_FLAG_WRITE) !== 0;
  const shared = (vma.vmFlags & VM_SHARED) !== 0;
  const pmd = mm.pgtable.getPmd(base);
  if (pmd === undefined) {
    const page = mm.phys.allocHugePage("hugetlb", "hugetlb_no_page");
    if (page === null) return VM_FAULT_SIGBUS; // pool exhausted
    yield "hugetlb_no_page";
    if (!mm.pgtable.pmdNone(base)) {
      mm.phys.putPage(page);
      return 0;
    }
    page.anonExclusive = !shared;
    page.mapcount = 1;
    const writable = (vma.vmFlags & VM_WRITE) !== 0 && (shared || write);
    mm.pgtable.setPmd(base, new Pte(page.pfn, writable, write));
    return 0;
  }
  if (!write || pmd.writable) {
    touch(pmd, write);
    return 0;
  }
  const old = mm.phys.pfnToPage(pmd.pfn);
  if (old.anonExclusive || shared) {
    pmd.writable = maybeMkwrite(vma);
    touch(pmd, true);
    return 0;
  }
  return yield* hugetlbWpCopy(vma, base, pmd, old);
}

/** hugetlb_wp(): copy-on-write of a whole 2 MiB hugetlb page. */
function* hugetlbWpCopy(vma: VmAreaStruct, base: number, pmd: Pte, old: Page): KGen<number> {
  const mm = vma.vmMm;
  const page = mm.phys.allocHugePage("hugetlb", "hugetlb_wp");
  if (page === null) return VM_FAULT_SIGBUS;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    mm.phys.copyPage(mm.phys.pfnToPage(page.pfn + i), mm.phys.pfnToPage(old.pfn + i));
  }
  yield "hugetlb_wp";
  const range = mmuNotifierRangeInit(mm, "CLEAR", base, base + HPAGE_PMD_SIZE);
  yield* mmuNotifierInvalidateRangeStart(range);
  if (mm.pgtable.getPmd(base) === pmd && !pmd.writable) {
    mm.pgtable.clearPmd(base);
    page.anonExclusive = true;
    page.mapcount = 1;
    mm.pgtable.setPmd(base, new Pte(page.pfn, true, true));
    old.mapcount--;
    mm.phys.putPage(old, "hugetlb_wp");
  } else {
    mm.phys.putPage(page);
  }
  yield* mmuNotifierInvalidateRangeEnd(range);
  return 0;
}
