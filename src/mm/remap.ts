/**
 * Helpers a driver's ->mmap or ->fault uses to map memory that is not page cache.
 *
 * Models mm/memory.c: remap_pfn_range() / io_remap_pfn_range() (special PTEs to pfns
 * with no refcounted page, marking the VMA VM_IO | VM_PFNMAP | VM_DONTEXPAND |
 * VM_DONTDUMP), vm_insert_page() (a normal, refcounted page into a VM_MIXEDMAP VMA) and
 * vmf_insert_pfn() (one special PTE from a fault handler). The PTEs are writable only
 * in a shared writable VMA, as vma->vm_page_prot would make them.
 */
import { EBUSY, EINVAL } from "../sim/errno.ts";
import { KernelBug } from "../sim/violation.ts";
import { PAGE_SIZE, type Page } from "./page.ts";
import { Pte } from "./pageTable.ts";
import {
  VM_DONTDUMP,
  VM_DONTEXPAND,
  VM_FAULT_NOPAGE,
  VM_FAULT_SIGBUS,
  VM_IO,
  VM_MIXEDMAP,
  VM_PFNMAP,
  VM_SHARED,
  VM_WRITE,
  type VmAreaStruct,
} from "./vma.ts";

function pteWritable(vma: VmAreaStruct): boolean {
  return (vma.vmFlags & (VM_WRITE | VM_SHARED)) === (VM_WRITE | VM_SHARED);
}

function inside(vma: VmAreaStruct, addr: number, size: number): boolean {
  return (
    addr % PAGE_SIZE === 0 &&
    size % PAGE_SIZE === 0 &&
    addr >= vma.vmStart &&
    addr + size <= vma.vmEnd
  );
}

/** remap_pfn_range(): maps [addr, addr + size) to pfns from `pfn`. 0 or -EINVAL. */
export function remapPfnRange(vma: VmAreaStruct, addr: number, pfn: number, size: number): number {
  if (!vma.vmMm.k.kasan.check(vma, "remap_pfn_range")) return EINVAL;
  if (!inside(vma, addr, size)) return EINVAL;
  vma.vmFlags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
  const pt = vma.vmMm.pgtable;
  for (let i = 0; i < size / PAGE_SIZE; i++) {
    const at = addr + i * PAGE_SIZE;
    if (pt.lookup(at) !== null) {
      throw new KernelBug("bug_on", `remap_pfn_range over a present PTE at ${at}`, { addr: at });
    }
    pt.setPte(at, new Pte(pfn + i, pteWritable(vma), false, true, true));
  }
  return 0;
}

/** io_remap_pfn_range(): the same on x86. */
export const ioRemapPfnRange = remapPfnRange;

/** vm_insert_page(): maps `page` (taking a reference) at `addr`. 0, -EINVAL or -EBUSY. */
export function vmInsertPage(vma: VmAreaStruct, addr: number, page: Page): number {
  if (!inside(vma, addr, PAGE_SIZE) || (vma.vmFlags & VM_PFNMAP) !== 0) return EINVAL;
  const mm = vma.vmMm;
  if (mm.pgtable.lookup(addr) !== null) return EBUSY;
  vma.vmFlags |= VM_MIXEDMAP;
  mm.phys.getPage(page);
  page.head.mapcount++;
  mm.pgtable.setPte(addr, new Pte(page.pfn, pteWritable(vma)));
  return 0;
}

/** vmf_insert_pfn(): one special PTE from a ->fault handler; VM_FAULT_NOPAGE. */
export function vmfInsertPfn(vma: VmAreaStruct, addr: number, pfn: number): number {
  if (!inside(vma, addr, PAGE_SIZE)) return VM_FAULT_SIGBUS;
  const pt = vma.vmMm.pgtable;
  if (pt.lookup(addr) === null) pt.setPte(addr, new Pte(pfn, pteWritable(vma), false, true, true));
  return VM_FAULT_NOPAGE;
}
