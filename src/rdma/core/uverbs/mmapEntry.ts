/**
 * The mmap offset database of a ucontext: which driver object a page offset maps.
 *
 * Models drivers/infiniband/core/ib_core_uverbs.c (v5.5+, "RDMA/core: Create mmap
 * database and cookie helper functions"): rdma_user_mmap_entry_insert() finds the
 * lowest free run of page offsets in ucontext->mmap_xa (under umap_lock, so two
 * inserts cannot pick the same run), _get_pgoff() / _get() look an entry up and take a
 * reference unless it is being freed or the driver removed it, _put() drops one, and
 * _remove() marks it driver_removed (no new mmaps) and drops the driver's reference.
 * The last put erases the offsets and calls the driver's ->mmap_free: the driver frees
 * what it shared only after every VMA mapping it has closed or been disassociated.
 *
 * A driver embeds the entry in its own object, as with container_of(): here it
 * extends RdmaUserMmapEntry.
 */
import type { IbUcontext } from "../ucontext.ts";
import { EINVAL, ENOMEM } from "../../../sim/errno.ts";
import { KObject } from "../../../sim/kasan.ts";
import { Kref } from "../../../sim/sync/kref.ts";
import type { KGen } from "../../../sim/task.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import { VM_SHARED, type VmAreaStruct } from "../../../mm/vma.ts";
import { ucontextUfile } from "./uverbsFile.ts";

/** The xarray's index limit (U32_MAX). */
const MAX_PGOFF = 0xffff_ffff;

export class RdmaUserMmapEntry extends KObject {
  readonly ref: Kref;
  ucontext: IbUcontext | null = null;
  startPgoff = 0;
  npages = 0;
  driverRemoved = false;

  constructor(ucontext: IbUcontext, kind = "rdma_user_mmap_entry") {
    super(ucontext.k.kasan, kind);
    this.ref = new Kref(ucontext.k, `mmap_entry_ref(${this.objName})`);
  }
}

/** ucontext->mmap_xa: page offset → entry (every page of an entry points at it). */
function mmapXa(ucontext: IbUcontext): Map<number, RdmaUserMmapEntry> {
  return ucontext.mmapXa;
}

/** The lowest start of `npages` free offsets, or -1. */
function findFreeRun(xa: Map<number, RdmaUserMmapEntry>, npages: number): number {
  let start = 0;
  while (start + npages - 1 <= MAX_PGOFF) {
    let clash = -1;
    for (let i = start; i < start + npages; i++) {
      if (xa.has(i)) {
        clash = i;
        break;
      }
    }
    if (clash < 0) return start;
    start = clash + 1;
  }
  return -1;
}

/** rdma_user_mmap_entry_insert(): 0 (entry.startPgoff set) or -ENOMEM / -EINVAL. */
export function* rdmaUserMmapEntryInsert(
  ucontext: IbUcontext,
  entry: RdmaUserMmapEntry,
  length: number,
): KGen<number> {
  if (length <= 0) return EINVAL;
  const ufile = ucontextUfile(ucontext);
  entry.ucontext = ucontext;
  yield* ufile.umapLock.lock();
  const xa = mmapXa(ucontext);
  const npages = Math.ceil(length / PAGE_SIZE);
  const start = findFreeRun(xa, npages);
  if (start < 0) {
    ufile.umapLock.unlock();
    return ENOMEM;
  }
  for (let i = start; i < start + npages; i++) xa.set(i, entry);
  entry.npages = npages;
  entry.startPgoff = start;
  ufile.umapLock.unlock();
  return 0;
}

/** rdma_user_mmap_get_offset(): the byte offset user space passes to mmap(). */
export function rdmaUserMmapGetOffset(entry: RdmaUserMmapEntry): number {
  return entry.startPgoff * PAGE_SIZE;
}

/** rdma_user_mmap_entry_get_pgoff(): the entry starting at `pgoff`, with a reference. */
export function rdmaUserMmapEntryGetPgoff(
  ucontext: IbUcontext,
  pgoff: number,
): RdmaUserMmapEntry | null {
  if (pgoff > MAX_PGOFF) return null;
  const entry = mmapXa(ucontext).get(pgoff);
  if (entry === undefined || entry.startPgoff !== pgoff || entry.driverRemoved) return null;
  return entry.ref.getUnlessZero() ? entry : null;
}

/** rdma_user_mmap_entry_get(): the entry `vma` asks for, if it is shared and sized right. */
export function rdmaUserMmapEntryGet(
  ucontext: IbUcontext,
  vma: VmAreaStruct,
): RdmaUserMmapEntry | null {
  if ((vma.vmFlags & VM_SHARED) === 0) return null;
  const entry = rdmaUserMmapEntryGetPgoff(ucontext, vma.vmPgoff);
  if (entry === null) return null;
  if (entry.npages * PAGE_SIZE !== vma.vmEnd - vma.vmStart) {
    rdmaUserMmapEntryPut(entry);
    return null;
  }
  return entry;
}

/** rdma_user_mmap_entry_free(): erase the offsets, let the driver free its object. */
function rdmaUserMmapEntryFree(entry: RdmaUserMmapEntry): void {
  const ucontext = entry.ucontext;
  if (ucontext === null) throw new Error(`${entry.objName} was never inserted`);
  const k = ucontext.k;
  if (!k.kasan.check(ucontext, "rdma_user_mmap_entry_free")) return;
  const xa = mmapXa(ucontext);
  for (let i = 0; i < entry.npages; i++) xa.delete(entry.startPgoff + i);
  ucontextUfile(ucontext).device.driver.mmapFree?.(entry);
  k.kasan.free(entry);
}

/** rdma_user_mmap_entry_put(). */
export function rdmaUserMmapEntryPut(entry: RdmaUserMmapEntry): void {
  entry.ref.put(() => {
    rdmaUserMmapEntryFree(entry);
  });
}

/** rdma_user_mmap_entry_remove(): no new mmaps of `entry`; drop the driver's reference. */
export function rdmaUserMmapEntryRemove(entry: RdmaUserMmapEntry | null): void {
  if (entry === null) return;
  entry.driverRemoved = true;
  rdmaUserMmapEntryPut(entry);
}
