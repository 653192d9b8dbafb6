/**
 * Splitting a VMA in two, and carving out the part of a VMA inside a range.
 *
 * Models __split_vma() (mm/vma.c, mm/mmap.c before v6.7): the new VMA is a copy (same
 * file, with a file reference, same vm_ops and private data) covering the part below or
 * above `addr`, and ->open is called on it — which is how a driver that tracks its VMAs
 * (uverbs) learns of the new piece; the original object keeps the other part. hugetlb
 * VMAs split only at 2 MiB boundaries (hugetlb_vm_op_split → -EINVAL); a THP mapping
 * straddling the split point is split first (vma_adjust_trans_huge).
 *
 * Simplification: VMAs are never merged back (vma_merge is not modelled).
 */
import { EINVAL } from "../sim/errno.ts";
import type { KGen } from "../sim/task.ts";
import { getFile } from "./file.ts";
import { splitHugePmd } from "./huge.ts";
import { vmaLink } from "./mmStruct.ts";
import { HPAGE_PMD_SIZE, PAGE_SIZE } from "./page.ts";
import { VM_HUGETLB, vmAreaDup, type VmAreaStruct } from "./vma.ts";

/**
 * __split_vma(): `vma` keeps [addr, end) when `newBelow`, else [start, addr); the new
 * VMA gets the rest and is returned; or a negative errno.
 */
export function* splitVma(
  vma: VmAreaStruct,
  addr: number,
  newBelow: boolean,
): KGen<VmAreaStruct | number> {
  const mm = vma.vmMm;
  if (addr <= vma.vmStart || addr >= vma.vmEnd)
    throw new Error(`split of ${vma.describe()} at ${addr}`);
  if ((vma.vmFlags & VM_HUGETLB) !== 0 && addr % HPAGE_PMD_SIZE !== 0) return EINVAL;
  if (addr % HPAGE_PMD_SIZE !== 0) yield* splitHugePmd(vma, addr);
  const created = vmAreaDup(vma);
  const pages = (addr - vma.vmStart) / PAGE_SIZE;
  if (newBelow) {
    created.vmEnd = addr;
    vma.vmStart = addr;
    vma.vmPgoff += pages;
  } else {
    created.vmStart = addr;
    created.vmPgoff += pages;
    vma.vmEnd = addr;
  }
  if (created.vmFile !== null) getFile(created.vmFile);
  vmaLink(mm, created);
  if (created.vmOps?.open !== undefined) yield* created.vmOps.open(created);
  return created;
}

/**
 * The part of `vma` inside [start, end) as a VMA of its own (splitting at most twice):
 * what mprotect, madvise and mremap change. Returns it or a negative errno.
 */
export function* vmaModifyRange(
  vma: VmAreaStruct,
  start: number,
  end: number,
): KGen<VmAreaStruct | number> {
  if (vma.vmStart < start) {
    const r = yield* splitVma(vma, start, true);
    if (typeof r === "number") return r;
  }
  if (vma.vmEnd > end) {
    const r = yield* splitVma(vma, end, false);
    if (typeof r === "number") return r;
  }
  return vma;
}
