/**
 * The reverse map of file pages: from a page-cache page to the PTEs that map it, and
 * cleaning those PTEs for writeback.
 *
 * Models mm/rmap.c's rmap_walk_file() over mapping->i_mmap (vma_address() for where the
 * page sits in each VMA), folio_mkclean() and page_vma_mkclean_one(): for every shared
 * VMA mapping the page, under one MMU_NOTIFY_PROTECTION_PAGE range per VMA, a PTE that
 * is writable or dirty is write-protected and cleaned. The return value counts the PTEs
 * cleaned; folio_clear_dirty_for_io() re-dirties the page when it is not zero, which is
 * how a CPU store recorded only in a PTE dirty bit reaches PG_dirty. The invalidation is
 * what makes a mirror (ODP, dmirror) drop its mapping of the page: a device that wants
 * to write it again must fault, and the write fault dirties the page anew.
 *
 * Simplifications: i_mmap is a set filtered by page offset, not an interval tree, and
 * i_mmap_rwsem is not modelled; a VMA removed while the walk sleeps is skipped, which is
 * what holding that lock for read guarantees. File pages are never mapped by huge PMDs
 * here, so only PTEs are walked.
 */
import type { KGen } from "../sim/task.ts";
import type { Inode } from "./file.ts";
import {
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from "./notify.ts";
import { PAGE_SIZE, type Page } from "./page.ts";
import { VM_SHARED, vmaPages, type VmAreaStruct } from "./vma.ts";

/** vma_address(): where page `index` of the file sits in `vma`, or null if outside. */
export function vmaAddress(vma: VmAreaStruct, index: number): number | null {
  const offset = index - vma.vmPgoff;
  if (offset < 0 || offset >= vmaPages(vma)) return null;
  return vma.vmStart + offset * PAGE_SIZE;
}

/** One place a file page may be mapped: a VMA of the file and the address in it. */
export interface RmapHit {
  readonly vma: VmAreaStruct;
  readonly address: number;
}

/**
 * rmap_walk_file()'s iteration: the VMAs of `inode` covering page `index`, with the
 * address of that page in each. invalid_mkclean_vma() skips private VMAs: their copies
 * of the page are anonymous and never written back.
 */
export function rmapWalkFileShared(inode: Inode, index: number): RmapHit[] {
  const hits: RmapHit[] = [];
  for (const vma of inode.iMmap) {
    if ((vma.vmFlags & VM_SHARED) === 0) continue;
    const address = vmaAddress(vma, index);
    if (address !== null) hits.push({ vma, address });
  }
  return hits;
}

/**
 * The PTE work of page_vma_mkclean_one() for one VMA, with the invalidation already
 * started: write-protect and clean the entry if it maps `page`. Returns 1 if it was
 * writable or dirty, else 0.
 */
export function pageVmaMkcleanLocked(hit: RmapHit, page: Page): number {
  const pte = hit.vma.vmMm.pgtable.getPte(hit.address);
  if (pte === undefined || pte.special || pte.pfn !== page.pfn) return 0;
  if (!pte.writable && !pte.dirty) return 0;
  pte.writable = false;
  pte.dirty = false;
  return 1;
}

/** page_vma_mkclean_one(): the PTE work bracketed by a PROTECTION_PAGE invalidation. */
function* pageVmaMkcleanOne(hit: RmapHit, page: Page): KGen<number> {
  const mm = hit.vma.vmMm;
  const range = mmuNotifierRangeInit(mm, "PROTECTION_PAGE", hit.address, hit.address + PAGE_SIZE);
  yield* mmuNotifierInvalidateRangeStart(range);
  const cleaned = pageVmaMkcleanLocked(hit, page);
  yield* mmuNotifierInvalidateRangeEnd(range);
  return cleaned;
}

/**
 * folio_mkclean(): write-protects and cleans every shared PTE mapping `page` (page
 * `index` of `inode`), telling each mm's mirrors first. Returns the number of PTEs that
 * were writable or dirty. An unmapped page has nothing to clean.
 */
export function* folioMkclean(inode: Inode, index: number, page: Page): KGen<number> {
  if (page.head.mapcount === 0) return 0;
  let cleaned = 0;
  for (const { vma } of rmapWalkFileShared(inode, index)) {
    yield "folio_mkclean";
    // i_mmap_rwsem keeps a VMA in the tree during the walk; here a VMA unlinked (or
    // moved) while an earlier VMA's invalidation slept is looked at afresh or skipped.
    if (!inode.iMmap.has(vma)) continue;
    const hit = rmapWalkFileShared(inode, index).find((h) => h.vma === vma);
    if (hit !== undefined) cleaned += yield* pageVmaMkcleanOne(hit, page);
  }
  return cleaned;
}
