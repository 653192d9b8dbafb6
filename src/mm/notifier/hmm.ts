/**
 * HMM, modern: hmm_range_fault() over an interval notifier.
 *
 * Models mm/hmm.c and include/linux/hmm.h of v5.10+: struct hmm_range, the output
 * flags HMM_PFN_VALID / WRITE / ERROR with a map order, the request flags REQ_FAULT /
 * REQ_WRITE, and hmm_range_fault(), which walks the CPU page tables of
 * range.notifier's mm (mmap_lock held for read BY THE CALLER) and fills one entry per
 * page of [start, end):
 * - the request of an entry is (entry & pfnFlagsMask) | defaultFlags;
 * - a missing page (or a read-only one, for a write request) is faulted with
 *   handle_mm_fault() — a write fault only when a write was requested — and the walk
 *   restarts from there (the kernel's internal -EBUSY);
 * - a write request on a VMA without VM_WRITE is -EPERM; a VMA without VM_READ, a
 *   VM_IO / VM_PFNMAP VMA, or a hole gives HMM_PFN_ERROR entries, or -EFAULT when a
 *   fault was requested there; a special PTE (a pfn map) likewise; the zero page is an
 *   ordinary read-only page;
 * - before every (re)walk, mmu_interval_check_retry(): an invalidation of the range
 *   since read_begin makes it return -EBUSY, and the caller goes back to read_begin.
 *
 * The entries are JavaScript numbers, so the flag bits are placed below 2^53 (pfn in
 * the low 45 bits, the order in bits 45..49, then ERROR, WRITE, VALID) and are read
 * with the helpers below, never with 32-bit bitwise operators.
 */
import { EBUSY, EFAULT, EPERM } from "../../sim/errno.ts";
import type { KGen } from "../../sim/task.ts";
import { handleMmFault } from "../memory.ts";
import { findVma, type MmStruct } from "../mmStruct.ts";
import { HPAGE_PMD_ORDER, HPAGE_PMD_SIZE, PAGE_SIZE } from "../page.ts";
import type { Pte } from "../pageTable.ts";
import {
  FAULT_FLAG_REMOTE,
  FAULT_FLAG_WRITE,
  VM_FAULT_ERROR,
  VM_IO,
  VM_PFNMAP,
  VM_READ,
  VM_WRITE,
  type VmAreaStruct,
} from "../vma.ts";
import { mmuIntervalCheckRetry, type MmuIntervalNotifier } from "./mmuIntervalNotifier.ts";

/** The map order sits at bits 45..49 of an entry. */
export const HMM_PFN_ORDER_SHIFT = 45;
const ORDER_UNIT = 2 ** HMM_PFN_ORDER_SHIFT;
/** Output: the entry maps a page the device may read. */
export const HMM_PFN_VALID = 2 ** 52;
/** Output: ... and write. */
export const HMM_PFN_WRITE = 2 ** 51;
/** Output: the address cannot be mirrored (no VMA, no struct page, no access). */
export const HMM_PFN_ERROR = 2 ** 50;
/** Input: fault the page in if it is not present. */
export const HMM_PFN_REQ_FAULT = HMM_PFN_VALID;
/** Input: fault it in writable. */
export const HMM_PFN_REQ_WRITE = HMM_PFN_WRITE;

/** struct hmm_range. */
export interface HmmRange {
  notifier: MmuIntervalNotifier;
  /** The value of mmu_interval_read_begin() this walk is checked against. */
  notifierSeq: number;
  start: number;
  end: number;
  /** One entry per page: request flags in, pfn + output flags out. */
  hmmPfns: number[];
  /**
   * odpsim's addition (struct hmm_range has no such field): if given, one entry per page
   * set with the valid entry's frame generation (Page.generation) as the walk read its
   * pte, so a mirror records it with its translation and a frame freed and reused
   * between the walk and the device's use is told apart from the one it mapped.
   */
  hmmGenerations?: number[];
  defaultFlags: number;
  pfnFlagsMask: number;
  /** Device-private pages of this owner are reported, not migrated back (unused). */
  devPrivateOwner?: unknown;
}

/** Whether `entry` has `flag` (one of the single-bit flags above). */
export function hmmPfnHas(entry: number, flag: number): boolean {
  return Math.floor(entry / flag) % 2 === 1;
}

/** hmm_pfn_to_pfn(). */
export function hmmPfnToPfn(entry: number): number {
  return entry % ORDER_UNIT;
}

/** hmm_pfn_to_map_order(): log2 of the CPU mapping's size in pages (9 for a PMD). */
export function hmmPfnToMapOrder(entry: number): number {
  return Math.floor(entry / ORDER_UNIT) % 32;
}

/** An output entry: pfn plus cpu flags. */
export function hmmPfnMake(pfn: number, flags: number): number {
  return pfn + flags;
}

/** What a walk needs besides the range. */
interface HmmVmaWalk {
  readonly range: HmmRange;
  readonly mm: MmStruct;
  /** Where to restart after a fault: entries before it hold their output. */
  last: number;
}

const NEED_FAULT = 1;
const NEED_WRITE_FAULT = 2;

/** hmm_pte_need_fault(): what the effective request demands of a CPU entry. */
function hmmPteNeedFault(range: HmmRange, reqEntry: number, cpuFlags: number): number {
  const has = (flag: number): boolean =>
    (hmmPfnHas(reqEntry, flag) && hmmPfnHas(range.pfnFlagsMask, flag)) ||
    hmmPfnHas(range.defaultFlags, flag);
  if (!has(HMM_PFN_REQ_FAULT)) return 0;
  if (has(HMM_PFN_REQ_WRITE) && !hmmPfnHas(cpuFlags, HMM_PFN_WRITE)) {
    return NEED_FAULT | NEED_WRITE_FAULT;
  }
  return hmmPfnHas(cpuFlags, HMM_PFN_VALID) ? 0 : NEED_FAULT;
}

/** hmm_range_need_fault() over the entries of [addr, end). */
function hmmRangeNeedFault(range: HmmRange, addr: number, end: number, cpuFlags: number): number {
  const anyFault =
    hmmPfnHas(range.defaultFlags, HMM_PFN_REQ_FAULT) ||
    hmmPfnHas(range.pfnFlagsMask, HMM_PFN_REQ_FAULT);
  if (!anyFault) return 0;
  let required = 0;
  for (let a = addr; a < end; a += PAGE_SIZE) {
    required |= hmmPteNeedFault(range, range.hmmPfns[index(range, a)] ?? 0, cpuFlags);
    if (required === (NEED_FAULT | NEED_WRITE_FAULT)) break;
  }
  return required;
}

function index(range: HmmRange, addr: number): number {
  return (addr - range.start) / PAGE_SIZE;
}

/** hmm_pfns_fill(). */
function hmmPfnsFill(range: HmmRange, addr: number, end: number, value: number): number {
  for (let a = addr; a < end; a += PAGE_SIZE) range.hmmPfns[index(range, a)] = value;
  return 0;
}

/**
 * hmm_vma_fault(): faults [addr, end) in with handle_mm_fault(); -EBUSY to restart
 * the walk at `addr`, -EPERM for a write to a VMA without VM_WRITE, -EFAULT on error.
 */
function* hmmVmaFault(
  w: HmmVmaWalk,
  vma: VmAreaStruct,
  addr: number,
  end: number,
  required: number,
): KGen<number> {
  w.last = addr;
  let flags = FAULT_FLAG_REMOTE;
  if ((required & NEED_WRITE_FAULT) !== 0) {
    if ((vma.vmFlags & VM_WRITE) === 0) return EPERM;
    flags |= FAULT_FLAG_WRITE;
  }
  for (let a = addr; a < end; a += PAGE_SIZE) {
    if (((yield* handleMmFault(vma, a, flags)) & VM_FAULT_ERROR) !== 0) return EFAULT;
  }
  return EBUSY;
}

/** hmm_vma_walk_hole(): no page table here (vma null: no VMA at all). */
function* hmmVmaWalkHole(
  w: HmmVmaWalk,
  vma: VmAreaStruct | null,
  addr: number,
  end: number,
): KGen<number> {
  const required = hmmRangeNeedFault(w.range, addr, end, 0);
  if (vma === null) return required !== 0 ? EFAULT : hmmPfnsFill(w.range, addr, end, HMM_PFN_ERROR);
  if (required !== 0) return yield* hmmVmaFault(w, vma, addr, end, required);
  return hmmPfnsFill(w.range, addr, end, 0);
}

/** pte_to_hmm_pfn_flags() / pmd_to_hmm_pfn_flags(). */
function cpuFlagsOf(pte: Pte): number {
  if (pte.protnone) return 0;
  return pte.writable ? HMM_PFN_VALID + HMM_PFN_WRITE : HMM_PFN_VALID;
}

/** The generation of frame `pfn` now (0 past the end of RAM: no frame to outlive). */
function generationOf(mm: MmStruct, pfn: number): number {
  return mm.phys.pfnValid(pfn) ? mm.phys.pfnToPage(pfn).generation : 0;
}

/** hmm_vma_handle_pte(): one 4 KiB entry; a fault covers [addr, end). */
function* hmmVmaHandlePte(
  w: HmmVmaWalk,
  vma: VmAreaStruct,
  addr: number,
  end: number,
): KGen<number> {
  const range = w.range;
  const i = index(range, addr);
  const req = range.hmmPfns[i] ?? 0;
  yield "hmm_vma_handle_pte: ptep_get";
  const pte = w.mm.pgtable.getPte(addr);
  if (pte === undefined) {
    const required = hmmPteNeedFault(range, req, 0);
    if (required !== 0) return yield* hmmVmaFault(w, vma, addr, end, required);
    range.hmmPfns[i] = 0;
    return 0;
  }
  const cpuFlags = cpuFlagsOf(pte);
  const required = hmmPteNeedFault(range, req, cpuFlags);
  if (required !== 0) return yield* hmmVmaFault(w, vma, addr, end, required);
  // No struct page behind a special PTE (the zero page excepted): not mirrorable.
  if (pte.special && !w.mm.phys.isZeroPfn(pte.pfn)) {
    if (hmmPteNeedFault(range, req, 0) !== 0) return EFAULT;
    range.hmmPfns[i] = HMM_PFN_ERROR;
    return 0;
  }
  range.hmmPfns[i] = hmmPfnMake(pte.pfn, cpuFlags);
  if (range.hmmGenerations !== undefined) range.hmmGenerations[i] = generationOf(w.mm, pte.pfn);
  return 0;
}

/** hmm_vma_handle_pmd(): a huge entry; every page gets the pmd's order. */
function* hmmVmaHandlePmd(
  w: HmmVmaWalk,
  vma: VmAreaStruct,
  addr: number,
  end: number,
  pmdBase: number,
  pmd: Pte,
): KGen<number> {
  const range = w.range;
  yield "hmm_vma_handle_pmd: pmdp_get_lockless";
  const flags = cpuFlagsOf(pmd);
  const cpuFlags = flags === 0 ? 0 : flags + HPAGE_PMD_ORDER * ORDER_UNIT;
  const required = hmmRangeNeedFault(range, addr, end, cpuFlags);
  if (required !== 0) return yield* hmmVmaFault(w, vma, addr, end, required);
  let pfn = pmd.pfn + (addr - pmdBase) / PAGE_SIZE;
  for (let a = addr; a < end; a += PAGE_SIZE, pfn++) {
    range.hmmPfns[index(range, a)] = cpuFlags === 0 ? 0 : hmmPfnMake(pfn, cpuFlags);
    if (range.hmmGenerations !== undefined) {
      range.hmmGenerations[index(range, a)] = generationOf(w.mm, pfn);
    }
  }
  return 0;
}

/** hmm_vma_walk_pmd() for each 2 MiB block of [addr, end) inside `vma`. */
function* hmmWalkVma(w: HmmVmaWalk, vma: VmAreaStruct, addr: number, end: number): KGen<number> {
  const pgtable = w.mm.pgtable;
  for (let a = addr; a < end;) {
    const blockBase = Math.floor(a / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE;
    const next = Math.min(end, blockBase + HPAGE_PMD_SIZE);
    yield "hmm_vma_walk_pmd: pmdp_get_lockless";
    const pmd = pgtable.getPmd(a);
    let r: number;
    if (pmd !== undefined) {
      r = yield* hmmVmaHandlePmd(w, vma, a, next, blockBase, pmd);
    } else if (pgtable.pmdNone(a)) {
      r = yield* hmmVmaWalkHole(w, vma, a, next);
    } else {
      r = 0;
      for (let p = a; p < next && r === 0; p += PAGE_SIZE)
        r = yield* hmmVmaHandlePte(w, vma, p, next);
    }
    if (r !== 0) return r;
    a = next;
  }
  return 0;
}

/**
 * hmm_vma_walk_test(): a VMA without VM_READ, or VM_IO / VM_PFNMAP, cannot be
 * mirrored: ERROR entries, or -EFAULT if a fault was requested. 1 = skip the VMA.
 */
function hmmVmaWalkTest(w: HmmVmaWalk, vma: VmAreaStruct, start: number, end: number): number {
  if ((vma.vmFlags & (VM_IO | VM_PFNMAP)) === 0 && (vma.vmFlags & VM_READ) !== 0) return 0;
  if (hmmRangeNeedFault(w.range, start, end, 0) !== 0) return EFAULT;
  hmmPfnsFill(w.range, start, end, HMM_PFN_ERROR);
  return 1;
}

/** walk_page_range() with hmm_walk_ops, from w.last to range.end. */
function* walkPageRange(w: HmmVmaWalk): KGen<number> {
  const end = w.range.end;
  for (let addr = w.last; addr < end;) {
    const vma = findVma(w.mm, addr);
    if (vma === null || vma.vmStart >= end) return yield* hmmVmaWalkHole(w, null, addr, end);
    if (vma.vmStart > addr) {
      const r = yield* hmmVmaWalkHole(w, null, addr, vma.vmStart);
      if (r !== 0) return r;
      addr = vma.vmStart;
    }
    const next = Math.min(end, vma.vmEnd);
    const test = hmmVmaWalkTest(w, vma, addr, next);
    if (test < 0) return test;
    if (test === 0) {
      const r = yield* hmmWalkVma(w, vma, addr, next);
      if (r !== 0) return r;
    }
    addr = next;
  }
  return 0;
}

/**
 * hmm_range_fault(): fills range.hmmPfns for [start, end). 0, or -EBUSY (an
 * invalidation hit the range since read_begin: start over), -EFAULT, -EPERM.
 */
export function* hmmRangeFault(range: HmmRange): KGen<number> {
  const mm = range.notifier.mm;
  if (mm === null) throw new Error("hmm_range_fault: the range's notifier is not inserted");
  mm.mmapLock.assertHeld();
  const w: HmmVmaWalk = { range, mm, last: range.start };
  for (;;) {
    yield "hmm_range_fault: mmu_interval_check_retry";
    if (mmuIntervalCheckRetry(range.notifier, range.notifierSeq)) return EBUSY;
    const ret = yield* walkPageRange(w);
    // -EBUSY from the walk: a fault was taken at w.last; entries before it are output.
    if (ret !== EBUSY) return ret;
  }
}
