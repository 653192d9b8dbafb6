/**
 * Loads and stores by a process's threads: the CPU walking the page tables, and the
 * page fault it raises when an entry is missing or forbids the access.
 *
 * Models the hardware walk plus arch/x86/mm/fault.c's do_user_addr_fault(): take
 * mmap_lock for read, find the VMA (none → SIGSEGV), check the access against vm_flags
 * (access_error → SIGSEGV), call handle_mm_fault(), turn VM_FAULT_SIGBUS into SIGBUS and
 * VM_FAULT_OOM into the OOM outcome, then retry the access. The signal is returned as a
 * value, never thrown.
 *
 * A load or store is one step for the pages that are already mapped: between two pages
 * the thread is only preempted when it faults (each fault takes mmap_lock, which yields).
 * A store sets the entry's dirty and young bits; a store to a file page also sets
 * PG_dirty at once (see file.ts).
 */
import type { KGen } from "../sim/task.ts";
import { setPageDirty } from "./file.ts";
import { handleMmFault } from "./memory.ts";
import { mmapReadLock, mmapReadUnlock, vmaLookup, type MmStruct } from "./mmStruct.ts";
import { PAGE_SIZE, pageAnon } from "./page.ts";
import { pteWalkPfn, type PteWalk } from "./pageTable.ts";
import {
  FAULT_FLAG_USER,
  FAULT_FLAG_WRITE,
  VM_ACCESS_FLAGS,
  VM_FAULT_OOM,
  VM_FAULT_SIGBUS,
  VM_FAULT_SIGSEGV,
  VM_WRITE,
} from "./vma.ts";

/** What the thread gets instead of completing the access. */
export type CpuSignal = "SIGSEGV" | "SIGBUS" | "OOM";

export interface CpuFault {
  readonly signal: CpuSignal;
  /** The faulting address. */
  readonly addr: number;
}

export type CpuReadResult =
  | { readonly ok: true; readonly data: Uint8Array }
  | { readonly ok: false; readonly fault: CpuFault };

export type CpuWriteResult =
  { readonly ok: true } | { readonly ok: false; readonly fault: CpuFault };

/** A fault that keeps "succeeding" without making progress is an odpsim bug. */
const MAX_FAULT_RETRIES = 1000;

/** A load of `len` bytes at `addr` by a thread of `mm`. */
export function* cpuRead(mm: MmStruct, addr: number, len: number): KGen<CpuReadResult> {
  const data = new Uint8Array(len);
  const fault = yield* cpuAccess(mm, addr, len, false, (pfn, off, done, n) => {
    mm.phys.readBytes(pfn, off, data, done, n);
  });
  return fault === null ? { ok: true, data } : { ok: false, fault };
}

/** A store of `data` at `addr` by a thread of `mm`. */
export function* cpuWrite(mm: MmStruct, addr: number, data: Uint8Array): KGen<CpuWriteResult> {
  const fault = yield* cpuAccess(mm, addr, data.length, true, (pfn, off, done, n) => {
    mm.phys.writeBytes(pfn, off, data.subarray(done, done + n));
  });
  return fault === null ? { ok: true } : { ok: false, fault };
}

type Copy = (pfn: number, offset: number, done: number, n: number) => void;

function* cpuAccess(
  mm: MmStruct,
  addr: number,
  len: number,
  write: boolean,
  copy: Copy,
): KGen<CpuFault | null> {
  yield write ? "user store" : "user load";
  mm.k.exitToUserMode();
  let done = 0;
  let retries = 0;
  while (done < len) {
    const at = addr + done;
    const walk = mm.pgtable.lookup(at);
    if (walk === null || !usable(walk, write)) {
      if (++retries > MAX_FAULT_RETRIES) throw new Error(`fault loop at ${at}`);
      const fault = yield* doUserAddrFault(mm, at, write);
      if (fault !== null) return fault;
      mm.k.exitToUserMode(); // the fault returns to user mode to retry the access
      continue;
    }
    const pfn = pteWalkPfn(walk, at);
    const off = at % PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, len - done);
    walk.pte.young = true;
    if (write) markWritten(mm, walk, pfn);
    copy(pfn, off, done, n);
    done += n;
  }
  return null;
}

function usable(walk: PteWalk, write: boolean): boolean {
  return !walk.pte.protnone && (!write || walk.pte.writable);
}

function markWritten(mm: MmStruct, walk: PteWalk, pfn: number): void {
  walk.pte.dirty = true;
  if (walk.pte.special || !mm.phys.pfnValid(pfn)) return;
  const page = mm.phys.pfnToPage(pfn);
  page.head.lazyfree = false;
  if (!pageAnon(page)) setPageDirty(page);
}

/** do_user_addr_fault(): null when the access may be retried, else the signal. */
export function* doUserAddrFault(
  mm: MmStruct,
  addr: number,
  write: boolean,
): KGen<CpuFault | null> {
  yield* mmapReadLock(mm);
  const vma = vmaLookup(mm, addr);
  let ret = VM_FAULT_SIGSEGV;
  if (vma !== null && !accessError(vma.vmFlags, write)) {
    ret = yield* handleMmFault(vma, addr, FAULT_FLAG_USER | (write ? FAULT_FLAG_WRITE : 0));
  }
  mmapReadUnlock(mm);
  if ((ret & VM_FAULT_OOM) !== 0) return { signal: "OOM", addr };
  if ((ret & VM_FAULT_SIGBUS) !== 0) return { signal: "SIGBUS", addr };
  if ((ret & VM_FAULT_SIGSEGV) !== 0) return { signal: "SIGSEGV", addr };
  return null;
}

/** access_error(): a write needs VM_WRITE, a read any access right. */
function accessError(vmFlags: number, write: boolean): boolean {
  if (write) return (vmFlags & VM_WRITE) === 0;
  return (vmFlags & VM_ACCESS_FLAGS) === 0;
}
