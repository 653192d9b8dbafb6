/**
 * fork(): copying an address space.
 *
 * Models kernel/fork.c dup_mm() / dup_mmap() and mm/memory.c copy_page_range() (with
 * copy_present_pte, copy_huge_pmd and mm/hugetlb.c copy_hugetlb_page_range): under the
 * parent's mmap_lock for write, every VMA but VM_DONTCOPY ones is duplicated for the
 * child (file reference, ->open on the copy). Shared mappings are not copied entry by
 * entry (the child faults them in from the same page cache / shmem); private ones are:
 * an anonymous page becomes shared copy-on-write — both PTEs write-protected, the page
 * no longer exclusive — under an MMU_NOTIFY_PROTECTION_PAGE range on the parent, so
 * mirrors of the parent drop write access. A page pinned for DMA is copied for the child
 * at once instead (the parent keeps its writable page: the rule that keeps RDMA working
 * across fork). pfn maps (VM_PFNMAP) copy their special PTEs.
 *
 * Where ->open of the copy runs is a per-kernel era setting (setForkOpensBeforeCopy):
 * after copy_page_range(), as dup_mmap() did until "fork: defer linking file vma until
 * vma is fully initialized" (35e351780fa9, v6.9-rc5), or before it, as every kernel
 * since does (the order the uverbs mmap-entry design and the interval design run in).
 * That commit is the one that swapped the two (it moved the i_mmap linking of a file
 * VMA, and ->open with it, ahead of the copy); it was merged for v6.9-rc5 in April 2024
 * and taken into stable trees (6.6.y with VFIO's refactor that sidesteps the order), so
 * the order is v6.9's, not v6.11's as issue 16 first had it.
 */
import { accessFields, objectId } from "../sim/objectAccess.ts";
import { KernelGlobal, type Kernel } from "../sim/kernel.ts";
import type { KGen } from "../sim/task.ts";
import { getFile } from "./file.ts";
import { splitHugePmdLocked } from "./huge.ts";
import { MmStruct, mmapWriteLock, mmapWriteUnlock, mmput, vmaLink } from "./mmStruct.ts";
import {
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from "./notify.ts";
import { HPAGE_PMD_NR, type Page, pageMaybeDmaPinned } from "./page.ts";
import { Pte } from "./pageTable.ts";
import {
  VM_DONTCOPY,
  VM_HUGETLB,
  VM_LOCKED,
  VM_MIXEDMAP,
  VM_PFNMAP,
  VM_SHARED,
  VM_WRITE,
  isCowMapping,
  vmAreaDup,
  type VmAreaStruct,
} from "./vma.ts";
import { ENOMEM } from "../sim/errno.ts";

/** The kernel's dup_mmap() order: ->open of the copy before copy_page_range() (v6.9+). */
const FORK_ORDER = new KernelGlobal<{ openBeforeCopy: boolean }>("kernel/fork.c", () => ({
  openBeforeCopy: false,
}));

/** Puts `k` in the era of dup_mmap() that calls ->open before copying the page tables. */
export function setForkOpensBeforeCopy(k: Kernel, on: boolean): void {
  k.global(FORK_ORDER).openBeforeCopy = on;
}

/** Whether this kernel's dup_mmap() calls ->open before copy_page_range(). */
export function forkOpensBeforeCopy(k: Kernel): boolean {
  return k.global(FORK_ORDER).openBeforeCopy;
}

/** dup_mm(): the child's address space, or -ENOMEM. */
export function* dupMm(oldMm: MmStruct, name?: string): KGen<MmStruct | number> {
  const mm = new MmStruct(oldMm.k, oldMm.phys, name);
  yield* mmapWriteLock(oldMm);
  let err = 0;
  for (const vma of [...oldMm.vmas]) {
    if ((vma.vmFlags & VM_DONTCOPY) !== 0) continue;
    const child = vmAreaDup(vma, mm);
    child.vmFlags &= ~VM_LOCKED;
    if (child.vmFile !== null) getFile(child.vmFile);
    vmaLink(mm, child);
    // Until v6.9 ->open ran after copy_page_range(): a driver that zaps the copy in
    // ->open (uverbs racing disassociation) saw the copied PTEs. Since 35e351780fa9 it
    // runs first, and copy_page_range() then copies into a VMA ->open already zapped.
    const openFirst = forkOpensBeforeCopy(oldMm.k);
    if (openFirst && child.vmOps?.open !== undefined) yield* child.vmOps.open(child);
    const copied = yield* copyPageRange(child, vma);
    if (mm.k.trace !== null) {
      const copy = { vma: child.objName, of: vma.objName, mm: mm.name };
      mm.k.event("dup_mmap", {
        ...copy,
        ...accessFields([objectId(vma.objName)], [], [objectId(child.objName)]),
      });
    }
    if (!openFirst && child.vmOps?.open !== undefined) yield* child.vmOps.open(child);
    if (!copied) {
      err = ENOMEM;
      break;
    }
  }
  mmapWriteUnlock(oldMm);
  if (err < 0) {
    yield* mmput(mm);
    return err;
  }
  return mm;
}

/** vma_needs_copy(): shared file / shmem mappings are refaulted, not copied. */
function vmaNeedsCopy(vma: VmAreaStruct): boolean {
  if ((vma.vmFlags & (VM_PFNMAP | VM_MIXEDMAP | VM_HUGETLB)) !== 0) return true;
  return (vma.vmFlags & VM_SHARED) === 0;
}

/** copy_page_range(): false when a frame for a pinned page could not be allocated. */
function* copyPageRange(dst: VmAreaStruct, src: VmAreaStruct): KGen<boolean> {
  if (!vmaNeedsCopy(src)) return true;
  const srcMm = src.vmMm;
  const cow = isCowMapping(src.vmFlags);
  const range = mmuNotifierRangeInit(srcMm, "PROTECTION_PAGE", src.vmStart, src.vmEnd);
  if (cow) yield* mmuNotifierInvalidateRangeStart(range);
  let ok = true;
  for (const [addr, pmd] of srcMm.pgtable.pmdsIn(src.vmStart, src.vmEnd)) {
    ok &&= copyHugePmd(dst, src, addr, pmd, cow);
  }
  for (const [addr, pte] of srcMm.pgtable.ptesIn(src.vmStart, src.vmEnd)) {
    ok &&= copyPresentPte(dst, addr, pte, cow);
  }
  if (cow) yield* mmuNotifierInvalidateRangeEnd(range);
  return ok;
}

function copyPte(pte: Pte): Pte {
  const c = new Pte(pte.pfn, pte.writable, pte.dirty, pte.young, pte.special);
  c.protnone = pte.protnone;
  return c;
}

/** copy_present_pte(). */
function copyPresentPte(dst: VmAreaStruct, addr: number, pte: Pte, cow: boolean): boolean {
  const mm = dst.vmMm;
  const phys = mm.phys;
  if (pte.special || phys.isZeroPfn(pte.pfn)) {
    mm.pgtable.setPte(addr, copyPte(pte));
    return true;
  }
  const page = phys.pfnToPage(pte.pfn);
  if (cow && page.head.kind === "anon") {
    if (pageMaybeDmaPinned(page) && page.anonExclusive) {
      // copy_present_page(): the child gets its own copy now.
      const copy = phys.allocPage("anon", "copy_present_page");
      if (copy === null) return false;
      phys.copyPage(copy, page);
      copy.anonExclusive = true;
      copy.mapcount = 1;
      mm.pgtable.setPte(addr, new Pte(copy.pfn, (dst.vmFlags & VM_WRITE) !== 0, true));
      return true;
    }
    page.anonExclusive = false;
    pte.writable = false;
  }
  phys.getPage(page);
  page.head.mapcount++;
  mm.pgtable.setPte(addr, copyPte(pte));
  return true;
}

/** copy_huge_pmd() / copy_hugetlb_page_range() for one 2 MiB entry. */
function copyHugePmd(
  dst: VmAreaStruct,
  src: VmAreaStruct,
  addr: number,
  pmd: Pte,
  cow: boolean,
): boolean {
  const mm = dst.vmMm;
  const phys = mm.phys;
  const head = phys.pfnToPage(pmd.pfn).head;
  const hugetlb = (src.vmFlags & VM_HUGETLB) !== 0;
  if (cow && pageMaybeDmaPinned(head)) {
    if (!hugetlb) {
      // copy_huge_pmd() refuses; the PMD is split and the PTEs copied one by one.
      splitHugePmdLocked(src, addr);
      return true;
    }
    const copy = phys.allocHugePage("hugetlb", "copy_hugetlb_page_range");
    if (copy === null) return false;
    for (let i = 0; i < HPAGE_PMD_NR; i++) {
      phys.copyPage(phys.pfnToPage(copy.pfn + i), phys.pfnToPage(head.pfn + i));
    }
    copy.anonExclusive = true;
    copy.mapcount = 1;
    mm.pgtable.setPmd(addr, new Pte(copy.pfn, (dst.vmFlags & VM_WRITE) !== 0, true));
    return true;
  }
  if (cow) {
    clearExclusive(phys.pfnToPage.bind(phys), head, hugetlb);
    pmd.writable = false;
  }
  phys.getPage(head);
  head.mapcount++;
  mm.pgtable.setPmd(addr, copyPte(pmd));
  return true;
}

function clearExclusive(pfnToPage: (pfn: number) => Page, head: Page, hugetlb: boolean): void {
  head.anonExclusive = false;
  if (hugetlb) return;
  for (let i = 1; i < HPAGE_PMD_NR; i++) pfnToPage(head.pfn + i).anonExclusive = false;
}
