/**
 * Tearing down an address space when its last user goes.
 *
 * Models exit_mmap() (mm/mmap.c): first mmu_notifier_release() — every mirror must drop
 * its device mappings of this mm — then, under mmap_lock, every VMA is unmapped (one
 * MMU_NOTIFY_UNMAP range over the whole user address space), each VMA's ->close runs,
 * its file reference is dropped and the VMA freed; the page tables go with it.
 */
import type { KGen } from "../sim/task.ts";
import { fput } from "./file.ts";
import { mmId, mmapWriteLock, mmapWriteUnlock, type MmStruct } from "./mmStruct.ts";
import { mmuNotifierRelease } from "./notify.ts";
import type { VmAreaStruct } from "./vma.ts";
import { unmapVmas } from "./zap.ts";

/** remove_vma(): ->close, fput, vm_area_free. The VMA is already unlinked and unmapped. */
export function* removeVma(vma: VmAreaStruct): KGen {
  const k = vma.vmMm.k;
  // unlink_file_vma(): out of the mapping's i_mmap once its pages are unmapped.
  vma.vmFile?.inode?.iMmap.delete(vma);
  if (vma.vmOps?.close !== undefined) yield* vma.vmOps.close(vma);
  if (vma.vmFile !== null) yield* fput(vma.vmFile);
  k.kasan.free(vma);
}

/** exit_mmap(). */
export function* exitMmap(mm: MmStruct): KGen {
  yield* mmuNotifierRelease(mm);
  yield* mmapWriteLock(mm);
  const vmas = mm.vmas.splice(0);
  mm.k.event("exit_mmap", { mm: mm.name, vmas: vmas.length, writes: `${mmId(mm)}.vmas` });
  if (vmas.length > 0) yield* unmapVmas(mm, vmas, 0, mm.taskSize);
  for (const vma of vmas) yield* removeVma(vma);
  mm.exited = true;
  mmapWriteUnlock(mm);
}
