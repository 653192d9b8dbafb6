/**
 * Transparent huge pages: the 2 MiB anonymous fault and splitting a huge PMD.
 *
 * Models mm/huge_memory.c: do_huge_pmd_anonymous_page() (a THP for a write fault in a
 * VM_HUGEPAGE VMA whose aligned 2 MiB block is empty), the eligibility test
 * (thp_vma_allowable_order) and __split_huge_pmd(), which replaces one huge entry by
 * 512 PTEs mapping the same frames under an MMU_NOTIFY_CLEAR range.
 *
 * Simplifications: the THP policy is "madvise" (only VM_HUGEPAGE VMAs get THPs), a read
 * fault maps the small zero page rather than the huge zero page, and the folio itself
 * is never split (its counts stay on the head; the frames are freed together when the
 * last PTE goes, where Linux would queue a deferred split).
 */
import { KernelBug } from "../sim/violation.ts";
import type { KGen } from "../sim/task.ts";
import {
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from "./notify.ts";
import { HPAGE_PMD_NR, HPAGE_PMD_SIZE, PAGE_SIZE } from "./page.ts";
import { Pte } from "./pageTable.ts";
import {
  VM_FAULT_FALLBACK,
  VM_HUGEPAGE,
  VM_HUGETLB,
  VM_NOHUGEPAGE,
  VM_SHARED,
  VM_WRITE,
  vmaIsAnonymous,
  type VmAreaStruct,
} from "./vma.ts";

/** The 2 MiB block containing `addr`. */
export function hugeBase(addr: number): number {
  return Math.floor(addr / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE;
}

/** Whether a THP may back the 2 MiB block of `addr` in `vma`. */
export function thpVmaAllowable(vma: VmAreaStruct, addr: number): boolean {
  const base = hugeBase(addr);
  const f = vma.vmFlags;
  return (
    (f & VM_HUGEPAGE) !== 0 &&
    (f & (VM_NOHUGEPAGE | VM_SHARED | VM_HUGETLB)) === 0 &&
    vmaIsAnonymous(vma) &&
    base >= vma.vmStart &&
    base + HPAGE_PMD_SIZE <= vma.vmEnd
  );
}

/**
 * do_huge_pmd_anonymous_page(): maps a new THP over the block of `addr`.
 * VM_FAULT_FALLBACK when no huge page is free or the block got a page table meanwhile.
 */
export function* doHugePmdAnonymousPage(vma: VmAreaStruct, addr: number): KGen<number> {
  const mm = vma.vmMm;
  const base = hugeBase(addr);
  const page = mm.phys.allocHugePage("anon", "do_huge_pmd_anonymous_page");
  if (page === null) return VM_FAULT_FALLBACK;
  yield "alloc_huge_page"; // the allocation may sleep in reclaim / compaction
  if (!mm.pgtable.pmdNone(base)) {
    mm.phys.putPage(page);
    return mm.pgtable.getPmd(base) === undefined ? VM_FAULT_FALLBACK : 0;
  }
  for (let i = 0; i < HPAGE_PMD_NR; i++) mm.phys.pfnToPage(page.pfn + i).anonExclusive = true;
  page.mapcount = 1;
  mm.pgtable.setPmd(base, new Pte(page.pfn, (vma.vmFlags & VM_WRITE) !== 0, true));
  return 0;
}

/**
 * The split itself, inside the caller's invalidation (zap of part of a THP): 512 PTEs
 * with the huge entry's bits; each holds one mapping and one reference.
 */
export function splitHugePmdLocked(vma: VmAreaStruct, addr: number): void {
  const mm = vma.vmMm;
  const base = hugeBase(addr);
  const pmd = mm.pgtable.getPmd(base);
  if (pmd === undefined) return;
  if ((vma.vmFlags & VM_HUGETLB) !== 0) {
    throw new KernelBug("bug_on", `split of a hugetlb PMD at ${base}`, { addr: base });
  }
  mm.pgtable.clearPmd(base);
  if (!pmd.special && !mm.phys.isZeroPfn(pmd.pfn)) {
    const head = mm.phys.pfnToPage(pmd.pfn).head;
    head.mapcount += HPAGE_PMD_NR - 1;
    head.refcount += HPAGE_PMD_NR - 1;
  }
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const pte = new Pte(pmd.pfn + i, pmd.writable, pmd.dirty, pmd.young, pmd.special);
    pte.protnone = pmd.protnone;
    mm.pgtable.setPte(base + i * PAGE_SIZE, pte);
  }
}

/**
 * __split_huge_pmd(): the THP mapping of `addr` becomes 512 PTEs, bracketed by an
 * MMU_NOTIFY_CLEAR range over the block. Caller holds mmap_lock.
 */
export function* splitHugePmd(vma: VmAreaStruct, addr: number): KGen {
  const mm = vma.vmMm;
  const base = hugeBase(addr);
  if (mm.pgtable.getPmd(base) === undefined) return;
  const range = mmuNotifierRangeInit(mm, "CLEAR", base, base + HPAGE_PMD_SIZE);
  yield* mmuNotifierInvalidateRangeStart(range);
  splitHugePmdLocked(vma, base);
  yield* mmuNotifierInvalidateRangeEnd(range);
}
