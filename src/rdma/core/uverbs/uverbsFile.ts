/**
 * One open of the uverbs device, and the tracking of every VMA that maps its memory.
 *
 * Models struct ib_uverbs_file (drivers/infiniband/core/uverbs.h) with the fields seed
 * 004 added — umap_lock and the umaps list — plus hw_destroy_rwsem (held for write while
 * the file's hardware objects are destroyed, for read by whoever must not race that),
 * the ucontext (NULL once destroyed), the kref and disassociate_page (the shared zeroed
 * page of the later fault handler). struct rdma_umap_priv is here too: one per VMA that
 * maps device memory, hung on vma->vm_private_data and linked on ufile->umaps. The file
 * outlives every such VMA, because each VMA holds a reference on the struct file.
 */
import type { IbUcontext } from "../ucontext.ts";
import type { Kernel } from "../../../sim/kernel.ts";
import { KObject } from "../../../sim/kasan.ts";
import { Kref } from "../../../sim/sync/kref.ts";
import { Mutex } from "../../../sim/sync/mutex.ts";
import { RwSemaphore } from "../../../sim/sync/rwsem.ts";
import type { File } from "../../../mm/file.ts";
import type { Page } from "../../../mm/page.ts";
import type { VmAreaStruct } from "../../../mm/vma.ts";
import type { RdmaUserMmapEntry } from "./mmapEntry.ts";
import type { IbUverbsDevice } from "./uverbsDevice.ts";

export class IbUverbsFile extends KObject {
  /** ufile->ucontext: null before GET_CONTEXT and after the context is destroyed. */
  ucontext: IbUcontext | null = null;
  /** umap_lock: nested under mmap_lock (the vm_ops callbacks run under it). */
  readonly umapLock: Mutex;
  /** umaps: the tracked VMAs, newest first (list_add). */
  readonly umaps: RdmaUmapPriv[] = [];
  readonly hwDestroyRwsem: RwSemaphore;
  /** ufile->ref: the open file, and ib_uverbs_remove_one while it works on the file. */
  readonly ref: Kref;
  /** The device was hot-unplugged under this file (RDMA_REMOVE_DRIVER_REMOVE ran). */
  disassociated = false;
  /** disassociate_page: the zeroed page writable VMAs fault in after disassociation. */
  disassociatePage: Page | null = null;
  /** The struct file whose private_data is this ufile. */
  filp: File | null = null;

  constructor(
    readonly k: Kernel,
    readonly device: IbUverbsDevice,
  ) {
    super(k.kasan, "ib_uverbs_file");
    this.umapLock = new Mutex(k, `umap_lock(${this.objName})`, "umap_lock");
    this.hwDestroyRwsem = new RwSemaphore(
      k,
      `hw_destroy_rwsem(${this.objName})`,
      "hw_destroy_rwsem",
    );
    this.ref = new Kref(k, `ufile_ref(${this.objName})`);
  }
}

/** struct rdma_umap_priv: the tracking of one VMA. */
export class RdmaUmapPriv extends KObject {
  /** priv->entry (the mmap-entry design): a reference the VMA holds, or null. */
  entry: RdmaUserMmapEntry | null = null;
  /** Whether priv->list is on ufile->umaps (false after list_del_init). */
  onList = false;
  /** The pgprot the driver mapped with (rdma_user_mmap_io), for reports. */
  prot: string | null = null;

  constructor(
    readonly k: Kernel,
    readonly ufile: IbUverbsFile,
    /** priv->vma. */
    readonly vma: VmAreaStruct,
  ) {
    super(k.kasan, "rdma_umap_priv");
  }
}

export function setUcontextUfile(ucontext: IbUcontext, ufile: IbUverbsFile): void {
  ucontext.ufile = ufile;
}

/** ucontext->ufile. */
export function ucontextUfile(ucontext: IbUcontext): IbUverbsFile {
  const ufile = ucontext.ufile;
  if (ufile === null) throw new Error(`${ucontext.objName} was not created by uverbs`);
  return ufile;
}

/** vma->vm_file->private_data, when the VMA maps a uverbs file; else null. */
export function vmaUfile(vma: VmAreaStruct): IbUverbsFile | null {
  const data = vma.vmFile?.privateData;
  return data instanceof IbUverbsFile ? data : null;
}

/** vma->vm_private_data as a umap priv, or null. */
export function vmaUmapPriv(vma: VmAreaStruct): RdmaUmapPriv | null {
  const data = vma.vmPrivateData;
  return data instanceof RdmaUmapPriv ? data : null;
}

/** list_add(&priv->list, &ufile->umaps); the caller holds umap_lock. */
export function umapListAdd(priv: RdmaUmapPriv): void {
  priv.ufile.umapLock.assertHeld();
  priv.ufile.umaps.unshift(priv);
  priv.onList = true;
}

/** list_del_init(&priv->list): a no-op when it is not on the list. */
export function umapListDel(priv: RdmaUmapPriv): void {
  priv.ufile.umapLock.assertHeld();
  if (!priv.onList) return;
  const list = priv.ufile.umaps;
  list.splice(list.indexOf(priv), 1);
  priv.onList = false;
}

/** Whether `vma` is tracked: its private data is a priv for it, on its file's list. */
export function isUmapTracked(vma: VmAreaStruct): boolean {
  const priv = vmaUmapPriv(vma);
  return priv !== null && !priv.freed && priv.vma === vma && priv.onList;
}
