/**
 * Page migration of a VA range: every movable page gets a new frame.
 *
 * Models mm/migrate.c as move_pages(2) / NUMA balancing drive it: under mmap_lock for
 * read and an MMU_NOTIFY_MIGRATE range over each VMA part, each anonymous page mapped
 * once with no extra references is copied to a new frame, the PTE repointed (same
 * bits), and the old frame freed — its generation bumps, so a device still translating
 * to it is caught. A page with extra references (pinned, or held by get_user_pages) is
 * not moved, as folio_migrate_mapping() refuses it; a THP mapping is split first.
 *
 * Simplification: one range per VMA instead of one per folio (try_to_migrate), no
 * migration entries (the whole move is one step), file pages are not migrated.
 */
import type { KGen } from "../sim/task.ts";
import { splitHugePmdLocked } from "./huge.ts";
import { mmapReadLock, mmapReadUnlock, vmasIn, type MmStruct } from "./mmStruct.ts";
import {
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from "./notify.ts";
import type { Pte } from "./pageTable.ts";
import { VM_HUGETLB, VM_IO, VM_PFNMAP } from "./vma.ts";

/** Migrates the movable pages of [start, end); returns how many moved. */
export function* migrateRange(mm: MmStruct, start: number, end: number): KGen<number> {
  yield* mmapReadLock(mm);
  let moved = 0;
  for (const vma of vmasIn(mm, start, end)) {
    if ((vma.vmFlags & (VM_IO | VM_PFNMAP | VM_HUGETLB)) !== 0) continue;
    const from = Math.max(start, vma.vmStart);
    const to = Math.min(end, vma.vmEnd);
    const range = mmuNotifierRangeInit(mm, "MIGRATE", from, to);
    yield* mmuNotifierInvalidateRangeStart(range);
    for (const [addr] of mm.pgtable.pmdsIn(from, to)) splitHugePmdLocked(vma, addr);
    for (const [, pte] of mm.pgtable.ptesIn(from, to)) if (migratePte(mm, pte)) moved++;
    yield* mmuNotifierInvalidateRangeEnd(range);
    yield "migrate_pages"; // cond_resched between VMAs
  }
  mmapReadUnlock(mm);
  return moved;
}

/** migrate_folio() of the page behind one PTE; false when it is not movable. */
function migratePte(mm: MmStruct, pte: Pte): boolean {
  const phys = mm.phys;
  if (pte.special || phys.isZeroPfn(pte.pfn)) return false;
  const old = phys.pfnToPage(pte.pfn);
  const head = old.head;
  if (head.kind !== "anon" || head.order !== 0) return false;
  if (head.mapcount !== 1 || head.refcount !== 1) return false;
  const page = phys.allocPage("anon", "migrate_pages");
  if (page === null) return false;
  phys.copyPage(page, old);
  page.anonExclusive = old.anonExclusive;
  page.dirty = old.dirty;
  page.mapcount = 1;
  pte.pfn = page.pfn;
  old.mapcount = 0;
  phys.putPage(old, "migrate_pages");
  return true;
}
