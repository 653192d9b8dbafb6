/**
 * madvise(2).
 *
 * Models mm/madvise.c: the argument checks (-EINVAL for an unknown advice or an
 * unaligned start, 0 for an empty range, -ENOMEM when part of the range is unmapped,
 * after advising the mapped parts), mmap_lock for read or write as
 * madvise_need_mmap_write() says, and the advice that matter to mirrors:
 * MADV_DONTNEED (zap_page_range_single under MMU_NOTIFY_CLEAR; the next touch faults in
 * zeros or the file's data; -EINVAL on VM_LOCKED / VM_PFNMAP, and on hugetlb for a start
 * that is not huge-page aligned, whose end is rounded down, as since v5.18), MADV_FREE (anonymous
 * private memory only: clean the pages under MMU_NOTIFY_CLEAR so reclaim may drop them),
 * MADV_DONTFORK / MADV_DOFORK (VM_DONTCOPY, used by rdma-core on registered memory) and
 * MADV_HUGEPAGE / MADV_NOHUGEPAGE. The rest are accepted and do nothing.
 */
import { EINVAL, ENOMEM } from "../sim/errno.ts";
import type { KGen } from "../sim/task.ts";
import { splitHugePmdLocked } from "./huge.ts";
import {
  findVma,
  mmapReadLock,
  mmapReadUnlock,
  mmapWriteLock,
  mmapWriteUnlock,
  type MmStruct,
} from "./mmStruct.ts";
import {
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from "./notify.ts";
import { HPAGE_PMD_SIZE, PAGE_SIZE, pageAnon } from "./page.ts";
import type { Pte } from "./pageTable.ts";
import {
  VM_DONTCOPY,
  VM_HUGEPAGE,
  VM_HUGETLB,
  VM_IO,
  VM_LOCKED,
  VM_NOHUGEPAGE,
  VM_PFNMAP,
  VM_SHARED,
  vmaIsAnonymous,
  type VmAreaStruct,
} from "./vma.ts";
import { vmaModifyRange } from "./vmaSplit.ts";
import { zapPageRangeSingle } from "./zap.ts";

export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_DONTNEED = 4;
export const MADV_FREE = 8;
export const MADV_DONTFORK = 10;
export const MADV_DOFORK = 11;
export const MADV_HUGEPAGE = 14;
export const MADV_NOHUGEPAGE = 15;

const VALID = new Set([
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_DONTFORK,
  MADV_DOFORK,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
]);

/** madvise_need_mmap_write(): advice that changes vm_flags needs the lock for write. */
function needsWrite(behavior: number): boolean {
  return [MADV_DONTFORK, MADV_DOFORK, MADV_HUGEPAGE, MADV_NOHUGEPAGE].includes(behavior);
}

/** do_madvise(): 0 or -errno. */
export function* doMadvise(
  mm: MmStruct,
  start: number,
  lenIn: number,
  behavior: number,
): KGen<number> {
  mm.k.exitToUserMode();
  if (!VALID.has(behavior)) return EINVAL;
  if (start % PAGE_SIZE !== 0) return EINVAL;
  const len = Math.ceil(lenIn / PAGE_SIZE) * PAGE_SIZE;
  if (lenIn < 0) return EINVAL;
  const end = start + len;
  if (end === start) return 0;
  const write = needsWrite(behavior);
  if (write) yield* mmapWriteLock(mm);
  else yield* mmapReadLock(mm);
  const ret = yield* madviseWalk(mm, start, end, behavior);
  if (write) mmapWriteUnlock(mm);
  else mmapReadUnlock(mm);
  return ret;
}

/** madvise_walk_vmas(): advises each mapped part; -ENOMEM if there was a hole. */
function* madviseWalk(mm: MmStruct, start: number, end: number, behavior: number): KGen<number> {
  let unmapped = 0;
  let at = start;
  while (at < end) {
    const vma = findVma(mm, at);
    if (vma === null || vma.vmStart >= end) return ENOMEM;
    if (vma.vmStart > at) unmapped = ENOMEM;
    const from = Math.max(at, vma.vmStart);
    const to = Math.min(end, vma.vmEnd);
    const next = vma.vmEnd;
    const err = yield* madviseVma(vma, from, to, behavior);
    if (err < 0) return err;
    at = next;
  }
  return unmapped;
}

function* madviseVma(
  vma: VmAreaStruct,
  start: number,
  end: number,
  behavior: number,
): KGen<number> {
  switch (behavior) {
    case MADV_DONTNEED:
      if ((vma.vmFlags & (VM_LOCKED | VM_PFNMAP)) !== 0) return EINVAL;
      if ((vma.vmFlags & VM_HUGETLB) !== 0) {
        // madvise_dontneed_free_valid_vma(): a start inside a huge page is refused, the
        // end (which callers only round to PAGE_SIZE) is rounded down to a huge page.
        if (start % HPAGE_PMD_SIZE !== 0) return EINVAL;
        end = Math.floor(end / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE;
        if (end <= start) return 0;
      }
      yield* zapPageRangeSingle(vma, start, end - start, "CLEAR");
      return 0;
    case MADV_FREE:
      if (!vmaIsAnonymous(vma) || (vma.vmFlags & (VM_SHARED | VM_HUGETLB)) !== 0) return EINVAL;
      yield* madviseFreeSingleVma(vma, start, end);
      return 0;
    case MADV_DONTFORK:
      return yield* updateFlags(vma, start, end, VM_DONTCOPY, 0);
    case MADV_DOFORK:
      if ((vma.vmFlags & VM_IO) !== 0) return EINVAL;
      return yield* updateFlags(vma, start, end, 0, VM_DONTCOPY);
    case MADV_HUGEPAGE:
      return yield* updateFlags(vma, start, end, VM_HUGEPAGE, VM_NOHUGEPAGE);
    case MADV_NOHUGEPAGE:
      return yield* updateFlags(vma, start, end, VM_NOHUGEPAGE, VM_HUGEPAGE);
    default:
      return 0;
  }
}

/** madvise_update_vma(): the range gets its own VMA with the flags changed. */
function* updateFlags(
  vma: VmAreaStruct,
  start: number,
  end: number,
  set: number,
  clear: number,
): KGen<number> {
  const newFlags = (vma.vmFlags | set) & ~clear;
  if (newFlags === vma.vmFlags) return 0;
  const piece = yield* vmaModifyRange(vma, start, end);
  if (typeof piece === "number") return piece;
  piece.vmFlags = newFlags;
  return 0;
}

/**
 * madvise_free_single_vma(): exclusive anonymous pages become clean and lazily freeable;
 * a THP only partly covered is split first.
 */
function* madviseFreeSingleVma(vma: VmAreaStruct, start: number, end: number): KGen {
  const mm = vma.vmMm;
  const range = mmuNotifierRangeInit(mm, "CLEAR", start, end);
  yield* mmuNotifierInvalidateRangeStart(range);
  for (const [addr, pmd] of mm.pgtable.pmdsIn(start, end)) {
    if (addr >= start && addr + HPAGE_PMD_SIZE <= end) lazyfree(mm, pmd);
    else splitHugePmdLocked(vma, addr);
  }
  for (const [, pte] of mm.pgtable.ptesIn(start, end)) lazyfree(mm, pte);
  yield* mmuNotifierInvalidateRangeEnd(range);
}

function lazyfree(mm: MmStruct, pte: Pte): void {
  if (pte.special || mm.phys.isZeroPfn(pte.pfn)) return;
  const page = mm.phys.pfnToPage(pte.pfn).head;
  if (!pageAnon(page) || page.mapcount !== 1) return;
  pte.dirty = false;
  pte.young = false;
  page.dirty = false;
  page.lazyfree = true;
}
