/**
 * mremap(2).
 *
 * Models mm/mremap.c: the argument checks (-EINVAL for bad flags, an unaligned address,
 * a zero new length, MREMAP_FIXED without MREMAP_MAYMOVE; -EFAULT when the old range is
 * not inside one VMA, or when a VM_DONTEXPAND / VM_PFNMAP mapping would grow), shrinking
 * (unmap the tail), growing in place when the next range is free, and moving:
 * copy_vma() makes the new VMA (->open on it), move_page_tables() moves every entry under
 * an MMU_NOTIFY_UNMAP range over the old addresses, then the old VMA is closed and freed.
 *
 * Not modelled: MREMAP_DONTUNMAP, old_len == 0 (duplicating a shared mapping).
 */
import { EFAULT, EINVAL, ENOMEM } from "../sim/errno.ts";
import type { KGen } from "../sim/task.ts";
import { removeVma } from "./exit.ts";
import { getFile } from "./file.ts";
import { splitHugePmdLocked } from "./huge.ts";
import { doMunmap, getUnmappedArea } from "./mmap.ts";
import {
  mmapWriteLock,
  mmapWriteUnlock,
  vmaLink,
  vmaLookup,
  vmaUnlink,
  vmasIn,
  type MmStruct,
} from "./mmStruct.ts";
import {
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from "./notify.ts";
import { HPAGE_PMD_SIZE, PAGE_SIZE } from "./page.ts";
import { VM_DONTEXPAND, VM_HUGETLB, VM_PFNMAP, vmAreaDup, type VmAreaStruct } from "./vma.ts";
import { vmaModifyRange } from "./vmaSplit.ts";

export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;

/** mremap(addr, old_len, new_len, flags, new_addr): the new address or -errno. */
export function* doMremap(
  mm: MmStruct,
  addr: number,
  oldLenIn: number,
  newLenIn: number,
  flags: number,
  newAddr = 0,
): KGen<number> {
  mm.k.exitToUserMode();
  if ((flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)) !== 0) return EINVAL;
  if ((flags & MREMAP_FIXED) !== 0 && (flags & MREMAP_MAYMOVE) === 0) return EINVAL;
  if (addr % PAGE_SIZE !== 0) return EINVAL;
  const oldLen = Math.ceil(oldLenIn / PAGE_SIZE) * PAGE_SIZE;
  const newLen = Math.ceil(newLenIn / PAGE_SIZE) * PAGE_SIZE;
  if (newLen <= 0 || oldLen <= 0) return EINVAL;
  yield* mmapWriteLock(mm);
  const ret = yield* mremapLocked(mm, addr, oldLen, newLen, flags, newAddr);
  mmapWriteUnlock(mm);
  return ret;
}

function* mremapLocked(
  mm: MmStruct,
  addr: number,
  oldLen: number,
  newLen: number,
  flags: number,
  newAddr: number,
): KGen<number> {
  const fixed = (flags & MREMAP_FIXED) !== 0;
  if (fixed) {
    if (newAddr % PAGE_SIZE !== 0 || newAddr + newLen > mm.taskSize) return EINVAL;
    if (newAddr < addr + oldLen && addr < newAddr + newLen) return EINVAL;
  }
  const vma = vmaLookup(mm, addr);
  if (vma === null || oldLen > vma.vmEnd - addr) return EFAULT;
  if ((vma.vmFlags & VM_HUGETLB) !== 0) {
    if (
      addr % HPAGE_PMD_SIZE !== 0 ||
      oldLen % HPAGE_PMD_SIZE !== 0 ||
      newLen % HPAGE_PMD_SIZE !== 0
    ) {
      return EINVAL;
    }
  }
  if (newLen > oldLen && (vma.vmFlags & (VM_DONTEXPAND | VM_PFNMAP)) !== 0) return EFAULT;
  if (!fixed && newLen <= oldLen) {
    if (newLen < oldLen) {
      const err = yield* doMunmap(mm, addr + newLen, oldLen - newLen);
      if (err < 0) return err;
    }
    return addr;
  }
  if (!fixed && addr + oldLen === vma.vmEnd && growsInPlace(mm, vma, addr + newLen)) {
    vma.vmEnd = addr + newLen;
    return addr;
  }
  if ((flags & MREMAP_MAYMOVE) === 0) return ENOMEM;
  let target = newAddr;
  if (fixed) {
    const err = yield* doMunmap(mm, newAddr, newLen);
    if (err < 0) return err;
  } else {
    const align = (vma.vmFlags & VM_HUGETLB) !== 0 ? HPAGE_PMD_SIZE : PAGE_SIZE;
    target = getUnmappedArea(mm, newLen, align);
    if (target < 0) return target;
  }
  return yield* moveVma(vma, addr, oldLen, target, newLen);
}

function growsInPlace(mm: MmStruct, vma: VmAreaStruct, newEnd: number): boolean {
  return newEnd <= mm.taskSize && vmasIn(mm, vma.vmEnd, newEnd).length === 0;
}

/** move_vma(): copy_vma + move_page_tables + unmap of the old VMA. */
function* moveVma(
  vma: VmAreaStruct,
  addr: number,
  oldLen: number,
  newAddr: number,
  newLen: number,
): KGen<number> {
  const mm = vma.vmMm;
  const old = yield* vmaModifyRange(vma, addr, addr + oldLen);
  if (typeof old === "number") return old;
  const moved = vmAreaDup(old);
  moved.vmStart = newAddr;
  moved.vmEnd = newAddr + newLen;
  if (moved.vmFile !== null) getFile(moved.vmFile);
  vmaLink(mm, moved);
  if (moved.vmOps?.open !== undefined) yield* moved.vmOps.open(moved);
  yield* movePageTables(old, moved, Math.min(oldLen, newLen));
  if (newLen < oldLen) yield* doMunmap(mm, addr + newLen, oldLen - newLen);
  const rest = vmaLookup(mm, addr);
  if (rest !== null) {
    vmaUnlink(mm, rest);
    yield* removeVma(rest);
  }
  return newAddr;
}

/** move_page_tables(): every entry of the old range moves by the same offset. */
function* movePageTables(from: VmAreaStruct, to: VmAreaStruct, len: number): KGen {
  const mm = from.vmMm;
  const pt = mm.pgtable;
  const delta = to.vmStart - from.vmStart;
  const range = mmuNotifierRangeInit(mm, "UNMAP", from.vmStart, from.vmStart + len);
  yield* mmuNotifierInvalidateRangeStart(range);
  for (const [at, pmd] of pt.pmdsIn(from.vmStart, from.vmStart + len)) {
    const huge = (from.vmFlags & VM_HUGETLB) !== 0;
    if (
      huge ||
      (delta % HPAGE_PMD_SIZE === 0 &&
        at >= from.vmStart &&
        at + HPAGE_PMD_SIZE <= from.vmStart + len)
    ) {
      pt.clearPmd(at);
      pt.setPmd(at + delta, pmd);
    } else {
      splitHugePmdLocked(from, at);
    }
  }
  for (const [at, pte] of pt.ptesIn(from.vmStart, from.vmStart + len)) {
    pt.clearPte(at);
    pt.setPte(at + delta, pte);
  }
  yield* mmuNotifierInvalidateRangeEnd(range);
}
