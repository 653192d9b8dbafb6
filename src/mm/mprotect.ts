/**
 * mprotect(2).
 *
 * Models mm/mprotect.c: do_mprotect_pkey() (-EINVAL for an unaligned start or unknown
 * prot bits, 0 for an empty range, -ENOMEM for a hole, -EACCES for a right the VMA may
 * not have: VM_MAY*), mprotect_fixup() (split the VMA to the range, set the new flags)
 * and change_protection(), which rewrites the present entries under an
 * MMU_NOTIFY_PROTECTION_VMA range: write permission removed, PROT_NONE made
 * inaccessible. Rights are never added to present entries here: a later write faults
 * and do_wp_page decides (reuse, copy, or a shared page made writable).
 */
import { EACCES, EINVAL, ENOMEM } from "../sim/errno.ts";
import type { KGen } from "../sim/task.ts";
import { calcVmProtBits, PROT_EXEC, PROT_READ, PROT_WRITE } from "./mmap.ts";
import { findVma, mmapWriteLock, mmapWriteUnlock, type MmStruct } from "./mmStruct.ts";
import {
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from "./notify.ts";
import { PAGE_SIZE } from "./page.ts";
import { VM_ACCESS_FLAGS, VM_WRITE, type VmAreaStruct } from "./vma.ts";
import { vmaModifyRange } from "./vmaSplit.ts";

/** mprotect(start, len, prot): 0 or -errno. */
export function* doMprotect(mm: MmStruct, start: number, len: number, prot: number): KGen<number> {
  mm.k.exitToUserMode();
  if (start % PAGE_SIZE !== 0) return EINVAL;
  if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0) return EINVAL;
  if (len === 0) return 0;
  const end = start + Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  if (end <= start || len < 0) return ENOMEM;
  yield* mmapWriteLock(mm);
  const ret = yield* mprotectLocked(mm, start, end, calcVmProtBits(prot));
  mmapWriteUnlock(mm);
  return ret;
}

function* mprotectLocked(mm: MmStruct, start: number, end: number, access: number): KGen<number> {
  let at = start;
  while (at < end) {
    const vma = findVma(mm, at);
    if (vma === null || vma.vmStart > at) return ENOMEM;
    const newFlags = (vma.vmFlags & ~VM_ACCESS_FLAGS) | access;
    // VM_MAY{READ,WRITE,EXEC} sit four bits above VM_{READ,WRITE,EXEC}.
    if ((newFlags & ~(vma.vmFlags >> 4) & VM_ACCESS_FLAGS) !== 0) return EACCES;
    const next = vma.vmEnd;
    const err = yield* mprotectFixup(vma, at, Math.min(end, vma.vmEnd), newFlags);
    if (err < 0) return err;
    at = next;
  }
  return 0;
}

/** mprotect_fixup(). */
function* mprotectFixup(
  vma: VmAreaStruct,
  start: number,
  end: number,
  newFlags: number,
): KGen<number> {
  if (newFlags === vma.vmFlags) return 0;
  const piece = yield* vmaModifyRange(vma, start, end);
  if (typeof piece === "number") return piece;
  piece.vmFlags = newFlags;
  yield* changeProtection(piece);
  return 0;
}

/** change_protection(): applies the VMA's rights to its present entries. */
export function* changeProtection(vma: VmAreaStruct): KGen {
  const pt = vma.vmMm.pgtable;
  const entries = [...pt.pmdsIn(vma.vmStart, vma.vmEnd), ...pt.ptesIn(vma.vmStart, vma.vmEnd)];
  if (entries.length === 0) return;
  const range = mmuNotifierRangeInit(vma.vmMm, "PROTECTION_VMA", vma.vmStart, vma.vmEnd);
  yield* mmuNotifierInvalidateRangeStart(range);
  const none = (vma.vmFlags & VM_ACCESS_FLAGS) === 0;
  const noWrite = (vma.vmFlags & VM_WRITE) === 0;
  for (const [, pte] of entries) {
    pte.protnone = none;
    if (noWrite) pte.writable = false;
  }
  yield* mmuNotifierInvalidateRangeEnd(range);
}
