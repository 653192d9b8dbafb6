/**
 * mmap and munmap.
 *
 * Models mm/mmap.c (and mm/vma.c of newer kernels): vm_mmap() / do_mmap() /
 * mmap_region() — argument checks with the kernel's errno, the top-down search for a
 * free range (get_unmapped_area), MAP_FIXED replacing what was there, shared anonymous
 * memory backed by a shmem file, MAP_HUGETLB, file mappings through generic_file_mmap or
 * a driver's ->mmap hook (which may install vm_ops and map pfns; its error fails the
 * mmap and undoes the VMA) — and vm_munmap() / do_vmi_munmap(), which splits the VMAs at
 * the range's ends (->open on the piece that stays), unmaps the range under one
 * MMU_NOTIFY_UNMAP invalidation, then closes and frees the removed VMAs.
 *
 * Not modelled: VMA merging, MAP_POPULATE, MAP_GROWSDOWN, file-backed hugetlbfs and
 * shared hugetlb (MAP_SHARED|MAP_HUGETLB throws: it is outside the model).
 */
import { EACCES, EBADF, EEXIST, EINVAL, ENODEV, ENOMEM, EOVERFLOW, EPERM } from "../sim/errno.ts";
import type { KGen } from "../sim/task.ts";
import { removeVma } from "./exit.ts";
import { fput, getFile, shmemFileSetup, type File } from "./file.ts";
import { genericFileVmOps } from "./filemap.ts";
import {
  MMAP_MIN_ADDR,
  mmapWriteLock,
  mmapWriteUnlock,
  vmaLink,
  vmaUnlink,
  vmasIn,
  type MmStruct,
} from "./mmStruct.ts";
import { HPAGE_PMD_SIZE, PAGE_SIZE } from "./page.ts";
import {
  VM_DONTEXPAND,
  VM_EXEC,
  VM_HUGETLB,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  VmAreaStruct,
} from "./vma.ts";
import { splitVma } from "./vmaSplit.ts";
import { unmapVmas } from "./zap.ts";

export const PROT_NONE = 0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;

export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_TYPE = 0x0f;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_POPULATE = 0x8000;
export const MAP_HUGETLB = 0x40000;
export const MAP_FIXED_NOREPLACE = 0x100000;

/** calc_vm_prot_bits(). */
export function calcVmProtBits(prot: number): number {
  return (
    ((prot & PROT_READ) !== 0 ? VM_READ : 0) |
    ((prot & PROT_WRITE) !== 0 ? VM_WRITE : 0) |
    ((prot & PROT_EXEC) !== 0 ? VM_EXEC : 0)
  );
}

/**
 * get_unmapped_area() top-down: the highest `align`-aligned free range of `len` below
 * mmap_base, or -ENOMEM.
 */
export function getUnmappedArea(mm: MmStruct, len: number, align = PAGE_SIZE): number {
  let high = mm.mmapBase;
  for (let i = mm.vmas.length - 1; ; i--) {
    const vma = mm.vmas[i];
    const low = vma === undefined ? MMAP_MIN_ADDR : vma.vmEnd;
    if (low < high && high - len >= low) {
      const candidate = Math.floor((high - len) / align) * align;
      if (candidate >= low) return candidate;
    }
    if (vma === undefined) return ENOMEM;
    high = Math.min(high, vma.vmStart);
  }
}

/** vm_mmap(): mmap(2) with mmap_lock taken for write. Returns the address or -errno. */
export function* vmMmap(
  mm: MmStruct,
  addr: number,
  len: number,
  prot: number,
  flags: number,
  file: File | null = null,
  offset = 0,
): KGen<number> {
  mm.k.exitToUserMode();
  yield* mmapWriteLock(mm);
  const ret = yield* doMmap(mm, addr, len, prot, flags, file, offset);
  mmapWriteUnlock(mm);
  return ret;
}

/** do_mmap() + mmap_region(); the caller holds mmap_lock for write. */
export function* doMmap(
  mm: MmStruct,
  addr: number,
  len: number,
  prot: number,
  flags: number,
  file: File | null,
  offset: number,
): KGen<number> {
  mm.mmapLock.assertHeldWrite();
  const type = flags & MAP_TYPE;
  const anonymous = (flags & MAP_ANONYMOUS) !== 0;
  const hugetlb = (flags & MAP_HUGETLB) !== 0;
  const align = hugetlb ? HPAGE_PMD_SIZE : PAGE_SIZE;
  if (offset % PAGE_SIZE !== 0 || offset < 0) return EINVAL;
  if (len <= 0) return EINVAL;
  if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== MAP_SHARED_VALIDATE) return EINVAL;
  if (!anonymous && file === null) return EBADF;
  const shared = type !== MAP_PRIVATE;
  if (hugetlb && shared) throw new Error("odpsim does not model shared hugetlb mappings");
  if (hugetlb && !anonymous) throw new Error("odpsim does not model hugetlbfs files");
  len = Math.ceil(len / align) * align;
  if (len > mm.taskSize) return ENOMEM;
  if (!anonymous && offset / PAGE_SIZE + len / PAGE_SIZE > Number.MAX_SAFE_INTEGER)
    return EOVERFLOW;
  let vmFlags = calcVmProtBits(prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (shared) vmFlags |= VM_SHARED | VM_MAYSHARE;
  if (hugetlb) vmFlags |= VM_HUGETLB | VM_DONTEXPAND;
  if (file !== null && !anonymous) {
    const err = checkFileAccess(file, shared, prot);
    if (err !== 0) return err;
    if (!file.fMode.write) vmFlags &= ~(VM_MAYWRITE | VM_SHARED);
  }
  const start = yield* placeMapping(mm, addr, len, flags, align);
  if (start < 0) return start;
  return yield* mmapRegion(mm, start, len, vmFlags, anonymous ? null : file, offset);
}

function checkFileAccess(file: File, shared: boolean, prot: number): number {
  if (!file.k.kasan.check(file, "do_mmap")) return EBADF;
  if (!file.fMode.read) return EACCES;
  if (shared && (prot & PROT_WRITE) !== 0 && !file.fMode.write) return EACCES;
  if (file.fOp.mmap === undefined && file.inode === null) return ENODEV;
  return 0;
}

/** Where the mapping goes: MAP_FIXED (unmapping what is there), the hint, or a search. */
function* placeMapping(
  mm: MmStruct,
  addr: number,
  len: number,
  flags: number,
  align: number,
): KGen<number> {
  const fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0;
  if (fixed) {
    if (addr % align !== 0) return EINVAL;
    if (addr + len > mm.taskSize) return ENOMEM;
    if (addr < MMAP_MIN_ADDR) return EPERM;
    if (vmasIn(mm, addr, addr + len).length > 0) {
      if ((flags & MAP_FIXED_NOREPLACE) !== 0) return EEXIST;
      const err = yield* doMunmap(mm, addr, len);
      if (err < 0) return err;
    }
    return addr;
  }
  const hint = Math.ceil(addr / align) * align;
  if (
    addr !== 0 &&
    hint >= MMAP_MIN_ADDR &&
    hint + len <= mm.taskSize &&
    vmasIn(mm, hint, hint + len).length === 0
  ) {
    return hint;
  }
  return getUnmappedArea(mm, len, align);
}

/** mmap_region(): creates the VMA, lets the file's ->mmap set it up, links it. */
function* mmapRegion(
  mm: MmStruct,
  start: number,
  len: number,
  vmFlags: number,
  file: File | null,
  offset: number,
): KGen<number> {
  let mapFile = file;
  if (mapFile === null && (vmFlags & VM_SHARED) !== 0) {
    mapFile = shmemFileSetup(mm.k, mm.phys, "dev/zero", len); // its one reference is ours
    offset = 0;
  } else if (mapFile !== null) {
    getFile(mapFile);
  }
  const vma = new VmAreaStruct(mm, {
    start,
    end: start + len,
    flags: vmFlags,
    pgoff: mapFile === null ? start / PAGE_SIZE : offset / PAGE_SIZE,
    file: mapFile,
  });
  if (mapFile !== null) {
    const hook = mapFile.fOp.mmap;
    if (hook === undefined) {
      vma.vmOps = genericFileVmOps;
    } else {
      const err = yield* hook(mapFile, vma);
      if (err < 0) {
        // unmap_and_free_vma(): undo whatever the driver mapped.
        yield* unmapVmas(mm, [vma], start, start + len);
        yield* fput(mapFile);
        mm.k.kasan.free(vma);
        return err;
      }
    }
  }
  vmaLink(mm, vma);
  return start;
}

/** vm_munmap(): munmap(2) with mmap_lock taken for write. */
export function* vmMunmap(mm: MmStruct, start: number, len: number): KGen<number> {
  mm.k.exitToUserMode();
  yield* mmapWriteLock(mm);
  const ret = yield* doMunmap(mm, start, len);
  mmapWriteUnlock(mm);
  return ret;
}

/** do_vmi_munmap(); the caller holds mmap_lock for write. Returns 0 or -errno. */
export function* doMunmap(mm: MmStruct, start: number, len: number): KGen<number> {
  mm.mmapLock.assertHeldWrite();
  if (start % PAGE_SIZE !== 0 || start > mm.taskSize || len > mm.taskSize - start) {
    return EINVAL;
  }
  len = Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  if (len === 0) return EINVAL;
  const end = start + len;
  let vmas = vmasIn(mm, start, end);
  if (vmas.length === 0) return 0;
  const first = vmas[0] as VmAreaStruct;
  if (first.vmStart < start) {
    const r = yield* splitVma(first, start, true);
    if (typeof r === "number") return r;
  }
  const last = vmas[vmas.length - 1] as VmAreaStruct;
  if (last.vmEnd > end) {
    const r = yield* splitVma(last, end, false);
    if (typeof r === "number") return r;
  }
  vmas = vmasIn(mm, start, end);
  for (const vma of vmas) vmaUnlink(mm, vma);
  yield* unmapVmas(mm, vmas, start, end);
  for (const vma of vmas) yield* removeVma(vma);
  return 0;
}
