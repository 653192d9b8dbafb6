/**
 * Hot unplug of the memory a file's processes map: zap every tracked VMA, in every mm.
 *
 * Models uverbs_user_mmap_disassociate() (drivers/infiniband/core/uverbs_main.c, seed
 * 004). umap_lock nests under mmap_lock (the vm_ops callbacks take it with mmap_lock
 * held), so the list cannot be walked with umap_lock held while taking mmap_locks.
 * Instead, one mm at a time: under umap_lock, take a live reference on the mm of the
 * first tracked VMA; drop umap_lock; take that mm's mmap_lock for write, then umap_lock
 * again, and zap and untrack every tracked VMA of that mm; unlock both; mmput. Repeat
 * until the list is empty. The caller holds hw_destroy_rwsem for write, which makes a
 * racing ->open zap its copy instead of tracking it.
 *
 * The seed took the mm with mmget(); "RDMA/uverbs: Fix a race with disassociate and
 * exit_mmap()" made it mmget_not_zero(), dropping the tracking of a VMA whose mm is
 * already being torn down (exit_mmap will unmap it). The model has the fixed form.
 */
import type { KGen } from "../../../sim/task.ts";
import {
  mmapWriteLock,
  mmapWriteUnlock,
  mmgetNotZero,
  mmput,
  type MmStruct,
} from "../../../mm/mmStruct.ts";
import { zapVmaPtes } from "../../../mm/zap.ts";
import { rdmaUmapPrivPutEntry } from "./umapOps.ts";
import { umapListDel, type IbUverbsFile } from "./uverbsFile.ts";

/**
 * Under umap_lock: the mm of the first tracked VMA, with an mm_users reference, or
 * null when nothing is tracked. Tracking of VMAs in dying mms is dropped on the way.
 */
function pickLiveMm(ufile: IbUverbsFile): MmStruct | null {
  while (ufile.umaps.length > 0) {
    const priv = ufile.umaps[0];
    if (priv === undefined) break;
    const mm = priv.vma.vmMm;
    if (mmgetNotZero(mm)) return mm;
    ufile.k.event("disassociate skips a dying mm", { mm: mm.name });
    umapListDel(priv);
    rdmaUmapPrivPutEntry(priv);
  }
  return null;
}

/** Zaps and untracks every tracked VMA of `mm`, under its mmap_lock (write) and umap_lock. */
function* zapTrackedVmasOf(ufile: IbUverbsFile, mm: MmStruct): KGen {
  mm.mmapLock.assertHeldWrite();
  ufile.umapLock.assertHeld();
  const design = ufile.device.design;
  for (const priv of [...ufile.umaps]) {
    const vma = priv.vma;
    if (vma.vmMm !== mm) continue;
    umapListDel(priv);
    ufile.k.event("disassociate zaps", { mm: mm.name, vma: vma.describe() });
    yield* zapVmaPtes(vma, vma.vmStart, vma.vmEnd - vma.vmStart);
    design.afterDisassociateZap(vma);
    rdmaUmapPrivPutEntry(priv);
  }
}

/** uverbs_user_mmap_disassociate(); the caller holds hw_destroy_rwsem. */
export function* uverbsUserMmapDisassociate(ufile: IbUverbsFile): KGen {
  ufile.hwDestroyRwsem.assertHeld();
  const k = ufile.k;
  for (;;) {
    yield* ufile.umapLock.lock();
    const mm = pickLiveMm(ufile);
    if (k.hasDefect("uverbs-umap-before-mmap-lock")) {
      // Catalog 18: the list walked with umap_lock held while taking each mm's
      // mmap_lock, the order seed 004 ("RDMA/ucontext: Add a core API for mmaping
      // driver IO memory", 5f9794dc94f5) avoids by cleaning one mm at a time: the
      // vm_ops take umap_lock under mmap_lock, so this is an ABBA inversion.
      if (mm === null) {
        ufile.umapLock.unlock();
        return;
      }
      yield* mmapWriteLock(mm);
    } else {
      ufile.umapLock.unlock();
      if (mm === null) return;
      yield* mmapWriteLock(mm);
      yield* ufile.umapLock.lock();
    }
    yield* zapTrackedVmasOf(ufile, mm);
    ufile.umapLock.unlock();
    mmapWriteUnlock(mm);
    yield* mmput(mm);
  }
}
