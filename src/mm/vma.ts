/**
 * Virtual memory areas: one contiguous mapping of an address space.
 *
 * Models struct vm_area_struct and struct vm_operations_struct
 * (include/linux/mm_types.h, include/linux/mm.h): the VM_* flags, vm_pgoff, vm_file,
 * vm_ops (open on a copy made by fork or a split, close when the VMA goes, fault when a
 * page is missing) and vm_private_data, plus struct vm_fault and the VM_FAULT_* /
 * FAULT_FLAG_* codes. vm_area_dup() is here too. A VMA is a KObject: drivers keep
 * pointers to VMAs (uverbs tracks each VMA mapping IO memory), so a use after
 * vm_area_free() is reported.
 */
import { KObject } from "../sim/kasan.ts";
import type { KGen } from "../sim/task.ts";
import type { File } from "./file.ts";
import type { MmStruct } from "./mmStruct.ts";
import { PAGE_SIZE, type Page } from "./page.ts";

// vm_flags (include/linux/mm.h). All below 2^31, so bitwise operators are safe.
export const VM_NONE = 0;
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_PFNMAP = 0x400;
export const VM_LOCKED = 0x2000;
export const VM_IO = 0x4000;
export const VM_DONTCOPY = 0x20000;
export const VM_DONTEXPAND = 0x40000;
export const VM_ACCOUNT = 0x100000;
export const VM_HUGETLB = 0x400000;
export const VM_DONTDUMP = 0x4000000;
export const VM_MIXEDMAP = 0x10000000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;

/** VM_READ | VM_WRITE | VM_EXEC. */
export const VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;

// vm_fault_t bits (include/linux/mm_types.h).
export const VM_FAULT_OOM = 0x1;
export const VM_FAULT_SIGBUS = 0x2;
export const VM_FAULT_MAJOR = 0x4;
export const VM_FAULT_SIGSEGV = 0x40;
export const VM_FAULT_NOPAGE = 0x100;
export const VM_FAULT_RETRY = 0x400;
export const VM_FAULT_FALLBACK = 0x800;
export const VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV;

// enum fault_flag.
export const FAULT_FLAG_WRITE = 0x1;
export const FAULT_FLAG_USER = 0x40;
export const FAULT_FLAG_REMOTE = 0x80;

/** struct vm_fault: what a ->fault handler gets, and where it returns a page. */
export interface VmFault {
  readonly vma: VmAreaStruct;
  /** The faulting address, page aligned. */
  readonly address: number;
  /** The page offset in the file (vm_pgoff + page index in the VMA). */
  readonly pgoff: number;
  readonly flags: number;
  /** Set by ->fault to the page to map, holding a reference the mapping takes over. */
  page: Page | null;
}

/** struct vm_operations_struct. */
export interface VmOperationsStruct {
  readonly name?: string;
  /** A new VMA copies this one (fork, split, mremap). */
  readonly open?: (vma: VmAreaStruct) => KGen;
  /** The VMA is going away (munmap, exit). */
  readonly close?: (vma: VmAreaStruct) => KGen;
  /** A missing page: set vmf.page and return 0, or install PTEs and VM_FAULT_NOPAGE. */
  readonly fault?: (vmf: VmFault) => KGen<number>;
}

export interface VmaInit {
  readonly start: number;
  readonly end: number;
  readonly flags: number;
  readonly pgoff?: number;
  readonly file?: File | null;
  readonly ops?: VmOperationsStruct | null;
}

/** struct vm_area_struct: [vmStart, vmEnd) of `vmMm`. */
export class VmAreaStruct extends KObject {
  vmStart: number;
  vmEnd: number;
  vmFlags: number;
  /** Offset in the file, in pages (for anonymous memory: the VMA's start page). */
  vmPgoff: number;
  vmFile: File | null;
  vmOps: VmOperationsStruct | null;
  vmPrivateData: unknown = null;

  constructor(
    readonly vmMm: MmStruct,
    init: VmaInit,
  ) {
    super(vmMm.k.kasan, "vma");
    this.vmStart = init.start;
    this.vmEnd = init.end;
    this.vmFlags = init.flags;
    this.vmPgoff = init.pgoff ?? init.start / PAGE_SIZE;
    this.vmFile = init.file ?? null;
    this.vmOps = init.ops ?? null;
  }

  /** A short description for reports. */
  describe(): string {
    return `vma [${hex(this.vmStart)}, ${hex(this.vmEnd)}) flags ${hex(this.vmFlags)}`;
  }
}

/** vm_area_dup(): a copy of `vma` for `mm` (same fields, new object, no open call). */
export function vmAreaDup(vma: VmAreaStruct, mm: MmStruct = vma.vmMm): VmAreaStruct {
  const copy = new VmAreaStruct(mm, {
    start: vma.vmStart,
    end: vma.vmEnd,
    flags: vma.vmFlags,
    pgoff: vma.vmPgoff,
    file: vma.vmFile,
    ops: vma.vmOps,
  });
  copy.vmPrivateData = vma.vmPrivateData;
  return copy;
}

/** vma_is_anonymous(): no vm_ops (private COW pages of a file VMA are anon too). */
export function vmaIsAnonymous(vma: VmAreaStruct): boolean {
  return vma.vmOps === null;
}

/** is_cow_mapping(): private and potentially writable. */
export function isCowMapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

/** linear_page_index(): the file page offset of `addr` in `vma`. */
export function linearPageIndex(vma: VmAreaStruct, addr: number): number {
  return vma.vmPgoff + Math.floor((addr - vma.vmStart) / PAGE_SIZE);
}

/** vma_pages(). */
export function vmaPages(vma: VmAreaStruct): number {
  return (vma.vmEnd - vma.vmStart) / PAGE_SIZE;
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
