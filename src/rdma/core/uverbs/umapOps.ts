/**
 * The vm_operations of a VMA that maps device memory: tracking on creation, on every
 * copy (fork, split, mremap), and untracking on close.
 *
 * Models drivers/infiniband/core/uverbs_main.c (seed 004): rdma_umap_priv_init(),
 * rdma_umap_open() and rdma_umap_close(); plus the entry reference of the later
 * ib_core_uverbs.c rdma_umap_priv_init() and rdma_umap_close().
 *
 * ->open runs with the mmap_lock of the new VMA's mm held for write, so it may not
 * sleep on hw_destroy_rwsem (disassociation holds it for write and then wants that
 * mmap_lock): it trylocks, and if that fails it is racing disassociation and zaps the
 * new VMA instead of tracking it. A VMA left without private data is never tracked
 * again; close ignores it.
 */
import { accessFields, objectId } from "../../../sim/objectAccess.ts";
import type { KGen } from "../../../sim/task.ts";
import { zapVmaPtes } from "../../../mm/zap.ts";
import type { VmAreaStruct } from "../../../mm/vma.ts";
import { rdmaUserMmapEntryPut, type RdmaUserMmapEntry } from "./mmapEntry.ts";
import {
  RdmaUmapPriv,
  umapListAdd,
  umapListDel,
  vmaUfile,
  vmaUmapPriv,
  type IbUverbsFile,
} from "./uverbsFile.ts";

/** A uverbs VMA's file; a VMA of another file reaching these ops is an odpsim bug. */
function ufileOf(vma: VmAreaStruct): IbUverbsFile {
  const ufile = vmaUfile(vma);
  if (ufile === null) throw new Error(`${vma.describe()} with rdma_umap_ops maps no uverbs file`);
  return ufile;
}

/**
 * rdma_umap_priv_init(): hangs `priv` on the VMA (taking a reference on `entry`), sets
 * the uverbs vm_ops and links it on the file's umaps under umap_lock.
 */
export function* rdmaUmapPrivInit(
  priv: RdmaUmapPriv,
  vma: VmAreaStruct,
  entry: RdmaUserMmapEntry | null,
): KGen {
  const ufile = ufileOf(vma);
  if (entry !== null) {
    ufile.k.kasan.check(entry, "rdma_umap_priv_init");
    entry.ref.get(); // kref_get: the VMA keeps the driver object alive
    priv.entry = entry;
  }
  vma.vmPrivateData = priv;
  vma.vmOps = ufile.device.design.umapOps;
  yield* ufile.umapLock.lock();
  umapListAdd(priv);
  traceUmapTracking(vma, "rdma_umap_priv_init", true);
  ufile.umapLock.unlock();
}

/** Whether a uverbs file tracks `vma` now, as `fn` left it, for the trace. */
function traceUmapTracking(vma: VmAreaStruct, fn: string, tracked: boolean): void {
  const k = vma.vmMm.k;
  if (k.trace === null) return;
  const id = `${objectId(vma.objName)}.vm_private_data`;
  k.event(fn, { vma: vma.objName, tracked, ...accessFields([], [id]) });
}

/** The zap of rdma_umap_open's failure path: the copy must not keep the IO pages. */
function* umapOpenZap(vma: VmAreaStruct, why: string): KGen {
  vma.vmMm.k.event("rdma_umap_open zaps the copy", { vma: vma.describe(), why });
  vma.vmPrivateData = null;
  yield* zapVmaPtes(vma, vma.vmStart, vma.vmEnd - vma.vmStart);
}

/** rdma_umap_open(): `vma` is a new copy (fork, split, mremap) of a tracked VMA. */
export function* rdmaUmapOpen(vma: VmAreaStruct): KGen {
  const ufile = ufileOf(vma);
  const k = ufile.k;
  const opriv = vmaUmapPriv(vma);
  if (opriv === null) return;
  if (k.hasDefect("uverbs-fork-untracked")) {
    // Catalog 17. Before seed 004 ("RDMA/ucontext: Add a core API for mmaping driver
    // IO memory", 5f9794dc94f5) the drivers' vma_open (mlx5_ib_vma_open) did not
    // track a copy at all: it only cut the copy loose from the original's private
    // data. A forked child (or a split piece) keeps the IO pages and disassociation
    // never hears of it.
    vma.vmPrivateData = null;
    traceUmapTracking(vma, "mlx5_ib_vma_open", false);
    return;
  }
  yield "rdma_umap_open";
  if (!ufile.hwDestroyRwsem.downReadTrylock()) {
    // racing disassociation: it holds hw_destroy_rwsem and wants our mmap_lock
    yield* umapOpenZap(vma, "racing disassociation");
    return;
  }
  if (ufile.ucontext === null) {
    // disassociation already completed: the original was zapped already
    ufile.hwDestroyRwsem.upRead();
    yield* umapOpenZap(vma, "disassociated");
    return;
  }
  const priv = new RdmaUmapPriv(k, ufile, vma);
  yield* rdmaUmapPrivInit(priv, vma, opriv.entry);
  ufile.hwDestroyRwsem.upRead();
}

/** rdma_umap_close(): the VMA goes away; its tracking (if any) goes with it. */
export function* rdmaUmapClose(vma: VmAreaStruct): KGen {
  const priv = vmaUmapPriv(vma);
  if (priv === null) return;
  const k = priv.k;
  if (!k.kasan.check(priv, "rdma_umap_close")) return;
  // The VMA holds a reference on the struct file, so the ufile is still there.
  const ufile = priv.ufile;
  k.kasan.check(ufile, "rdma_umap_close");
  yield* ufile.umapLock.lock();
  umapListDel(priv);
  ufile.umapLock.unlock();
  rdmaUmapPrivPutEntry(priv);
  k.kasan.free(priv);
}

/** Drops the VMA's reference on its mmap entry (close and disassociation). */
export function rdmaUmapPrivPutEntry(priv: RdmaUmapPriv): void {
  const entry = priv.entry;
  if (entry === null) return;
  priv.entry = null;
  rdmaUserMmapEntryPut(entry);
}
