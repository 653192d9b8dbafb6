/**
 * The OOM reaper: freeing a killed task's anonymous memory before it exits.
 *
 * Models mm/oom_kill.c: oom_reap_task() retries oom_reap_task_mm() (which only
 * trylocks mmap_lock for read) up to MAX_OOM_REAP_RETRIES times, HZ/10 apart;
 * __oom_reap_task_mm() walks the VMAs, skips VM_LOCKED / VM_HUGETLB / VM_PFNMAP ones
 * and shared file mappings, and zaps each private one under a NON-blockable
 * MMU_NOTIFY_UNMAP range. A mirror that would have to sleep refuses with -EAGAIN; the
 * reaper then skips that VMA and reports failure (it retries later).
 *
 * Pairing: mmu_notifier_invalidate_range_start_nonblock() undoes the starts that
 * succeeded itself when one fails, so the reaper calls no end for a refused VMA.
 */
import { NSEC_PER_MSEC } from "../sim/clock.ts";
import type { KGen } from "../sim/task.ts";
import type { MmStruct } from "./mmStruct.ts";
import {
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from "./notify.ts";
import { VM_HUGETLB, VM_LOCKED, VM_PFNMAP, VM_SHARED, vmaIsAnonymous } from "./vma.ts";
import { zapRangeLocked } from "./zap.ts";

export const MAX_OOM_REAP_RETRIES = 10;

/** __oom_reap_task_mm(): true when every reapable VMA was reaped. */
export function* oomReapTaskMmLocked(mm: MmStruct): KGen<boolean> {
  let ok = true;
  for (const vma of [...mm.vmas]) {
    if ((vma.vmFlags & (VM_LOCKED | VM_HUGETLB | VM_PFNMAP)) !== 0) continue;
    if (!vmaIsAnonymous(vma) && (vma.vmFlags & VM_SHARED) !== 0) continue;
    const range = mmuNotifierRangeInit(mm, "UNMAP", vma.vmStart, vma.vmEnd, { blockable: false });
    const ret = yield* mmuNotifierInvalidateRangeStart(range);
    if (ret !== 0) {
      // Refused: the notifier core has already ended the subscribers that started, so
      // no end here (as __oom_reap_task_mm does); try the VMA on a later pass.
      ok = false;
      continue;
    }
    zapRangeLocked(vma, vma.vmStart, vma.vmEnd);
    yield* mmuNotifierInvalidateRangeEnd(range);
  }
  return ok;
}

/** oom_reap_task_mm(): false when mmap_lock was contended or a mirror refused. */
export function* oomReapTaskMm(mm: MmStruct): KGen<boolean> {
  if (!mm.k.kasan.check(mm, "oom_reap_task_mm")) return true;
  if (!mm.mmapLock.downReadTrylock()) return false;
  const ok = mm.exited ? true : yield* oomReapTaskMmLocked(mm);
  mm.mmapLock.upRead();
  return ok;
}

/** oom_reap_task(): retries, sleeping HZ/10 between attempts; true if it succeeded. */
export function* oomReapTask(mm: MmStruct): KGen<boolean> {
  for (let attempt = 0; attempt < MAX_OOM_REAP_RETRIES; attempt++) {
    if (yield* oomReapTaskMm(mm)) return true;
    yield* mm.k.sleep(100 * NSEC_PER_MSEC);
  }
  return false;
}
