/**
 * The page-cache fault handler behind every file mapping.
 *
 * Models mm/filemap.c's filemap_fault() and generic_file_vm_ops (and shmem_fault /
 * shmem_vm_ops, which behave the same here): a missing page of a file VMA is looked up
 * in the page cache, read in if absent, and handed to the core fault code to map. A
 * page at or beyond the end of the file is SIGBUS, as in Linux.
 */
import type { KGen } from "../sim/task.ts";
import { filemapGetPage, inodePages } from "./file.ts";
import {
  VM_FAULT_MAJOR,
  VM_FAULT_OOM,
  VM_FAULT_SIGBUS,
  type VmFault,
  type VmOperationsStruct,
} from "./vma.ts";

/** filemap_fault(): sets vmf.page to the cached page (with a reference). */
export function* filemapFault(vmf: VmFault): KGen<number> {
  const inode = vmf.vma.vmFile?.inode ?? null;
  if (inode === null) return VM_FAULT_SIGBUS;
  if (vmf.pgoff >= inodePages(inode)) return VM_FAULT_SIGBUS;
  const cached = inode.pageCache.has(vmf.pgoff);
  if (!cached) yield "filemap_read_page"; // reading the page in sleeps
  const page = filemapGetPage(inode, vmf.pgoff);
  if (page === null) return VM_FAULT_OOM;
  vmf.page = page;
  return cached ? 0 : VM_FAULT_MAJOR;
}

/** generic_file_vm_ops: what generic_file_mmap() installs on a file VMA. */
export const genericFileVmOps: VmOperationsStruct = {
  name: "generic_file_vm_ops",
  fault: filemapFault,
};
