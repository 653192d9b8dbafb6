/**
 * Tearing down mappings: removing PTEs and dropping what they held.
 *
 * Models mm/memory.c: zap_pte_range / zap_pmd_range (for each present entry: clear it,
 * fold the dirty bit into the page, drop the map count and the page reference;
 * a partially covered THP is split first), unmap_vmas() (one MMU_NOTIFY_UNMAP range
 * for munmap and exit), zap_page_range_single() (one MMU_NOTIFY_CLEAR range, for
 * MADV_DONTNEED and drivers) and zap_vma_ptes() (a driver zapping its pfn map).
 */
import { EINVAL } from "../sim/errno.ts";
import type { KGen } from "../sim/task.ts";
import { setPageDirty } from "./file.ts";
import { splitHugePmdLocked } from "./huge.ts";
import type { MmStruct } from "./mmStruct.ts";
import {
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from "./notify.ts";
import type { MmuNotifyEvent } from "./notifier/subscriptions.ts";
import { HPAGE_PMD_SIZE, pageAnon } from "./page.ts";
import type { Pte } from "./pageTable.ts";
import { VM_PFNMAP, type VmAreaStruct } from "./vma.ts";

/** Drops what one removed entry held: dirty → PG_dirty, one mapping, one reference. */
export function zapEntry(mm: MmStruct, pte: Pte): void {
  const phys = mm.phys;
  if (pte.special || !phys.pfnValid(pte.pfn) || phys.isZeroPfn(pte.pfn)) return;
  const page = phys.pfnToPage(pte.pfn);
  if (pte.dirty && !pageAnon(page)) {
    setPageDirty(page);
    phys.traceDirty(page, "zap_pte_range: set_page_dirty", true);
  }
  page.head.mapcount--;
  phys.putPage(page, "zap_pte_range");
}

/**
 * zap_pte_range() over [start, end) of one VMA, without notifier calls (the caller
 * brackets). A huge PMD only partly inside the range is split first, as the kernel does.
 */
export function zapRangeLocked(vma: VmAreaStruct, start: number, end: number): number {
  const mm = vma.vmMm;
  const pt = mm.pgtable;
  let zapped = 0;
  for (const [addr, pmd] of pt.pmdsIn(start, end)) {
    if (addr >= start && addr + HPAGE_PMD_SIZE <= end) {
      pt.clearPmd(addr);
      zapEntry(mm, pmd);
      zapped++;
    } else {
      splitHugePmdLocked(vma, addr);
    }
  }
  for (const [addr, pte] of pt.ptesIn(start, end)) {
    pt.clearPte(addr);
    zapEntry(mm, pte);
    zapped++;
  }
  return zapped;
}

/**
 * unmap_vmas(): zaps the parts of `vmas` inside [start, end) under one UNMAP range
 * (munmap, exit_mmap). Returns the number of entries removed.
 */
export function* unmapVmas(
  mm: MmStruct,
  vmas: readonly VmAreaStruct[],
  start: number,
  end: number,
): KGen<number> {
  const range = mmuNotifierRangeInit(mm, "UNMAP", start, end);
  yield* mmuNotifierInvalidateRangeStart(range);
  let zapped = 0;
  for (const vma of vmas) {
    zapped += zapRangeLocked(vma, Math.max(start, vma.vmStart), Math.min(end, vma.vmEnd));
  }
  yield* mmuNotifierInvalidateRangeEnd(range);
  return zapped;
}

/** zap_page_range_single(): zaps [start, start + size) of `vma` under one range. */
export function* zapPageRangeSingle(
  vma: VmAreaStruct,
  start: number,
  size: number,
  event: MmuNotifyEvent = "CLEAR",
): KGen<number> {
  const end = Math.min(start + size, vma.vmEnd);
  const range = mmuNotifierRangeInit(vma.vmMm, event, start, end);
  yield* mmuNotifierInvalidateRangeStart(range);
  const zapped = zapRangeLocked(vma, start, end);
  yield* mmuNotifierInvalidateRangeEnd(range);
  return zapped;
}

/**
 * zap_vma_ptes(): a driver removes its pfn mappings (uverbs disassociation). Only for
 * VM_PFNMAP VMAs and ranges inside the VMA; returns 0 or -EINVAL.
 */
export function* zapVmaPtes(vma: VmAreaStruct, address: number, size: number): KGen<number> {
  vma.vmMm.k.kasan.check(vma, "zap_vma_ptes");
  if ((vma.vmFlags & VM_PFNMAP) === 0) return EINVAL;
  if (address < vma.vmStart || address + size > vma.vmEnd) return EINVAL;
  yield* zapPageRangeSingle(vma, address, size);
  return 0;
}
