/**
 * The uverbs character device's file operations and device removal.
 *
 * Models drivers/infiniband/core/uverbs_main.c as of seed 004: ib_uverbs_open() (plus
 * the GET_CONTEXT command that creates the ucontext, folded in here), ib_uverbs_mmap()
 * (under disassociate_srcu: -EIO once the device is gone, -EINVAL without a ucontext,
 * else the driver's ->mmap), ib_uverbs_close() / ib_uverbs_release_file(), and
 * ib_uverbs_remove_one() with ib_uverbs_free_hw_resources(): clear the device pointer,
 * wait out every file operation in flight (synchronize_srcu, so no mmap can still be
 * installing IO pages), then destroy each file's hardware state with
 * RDMA_REMOVE_DRIVER_REMOVE. rdmaUserMmapDisassociateDevice() is the device-reset
 * path (later kernels' rdma_user_mmap_disassociate()): every file's mappings are
 * zapped but the contexts stay.
 *
 * ib_uverbs_mmap runs with mmap_lock held for write. It must not take hw_destroy_rwsem
 * (disassociation holds that while taking mmap_lock); SRCU is what keeps it from
 * racing removal.
 *
 * Simplification: the last fput of the file runs ib_uverbs_close in a task of its own,
 * as the kernel defers __fput to task work (never under the mmap_lock of exit_mmap).
 */
import { IbUcontext } from "../ucontext.ts";
import { EINVAL, EIO } from "../../../sim/errno.ts";
import type { KGen } from "../../../sim/task.ts";
import { File, type FileOperations } from "../../../mm/file.ts";
import type { MmStruct } from "../../../mm/mmStruct.ts";
import type { VmAreaStruct } from "../../../mm/vma.ts";
import { uverbsUserMmapDisassociate } from "./disassociate.ts";
import { uverbsDestroyUfileHw } from "./rdmaCore.ts";
import type { IbUverbsDevice } from "./uverbsDevice.ts";
import { IbUverbsFile, setUcontextUfile } from "./uverbsFile.ts";

export function fileUfile(file: File): IbUverbsFile {
  const ufile = file.privateData;
  if (!(ufile instanceof IbUverbsFile)) throw new Error(`${file.objName} is not a uverbs file`);
  return ufile;
}

/** ib_uverbs_mmap(): the file's ->mmap. */
export function* ibUverbsMmap(file: File, vma: VmAreaStruct): KGen<number> {
  const ufile = fileUfile(file);
  const udev = ufile.device;
  const idx = udev.disassociateSrcu.readLock();
  yield "ib_uverbs_mmap";
  const ucontext = ibUverbsGetUcontext(ufile);
  const ret = typeof ucontext === "number" ? ucontext : yield* udev.driver.mmap(ucontext, vma);
  udev.disassociateSrcu.readUnlock(idx);
  return ret;
}

/** ib_uverbs_get_ucontext(): under disassociate_srcu; -EIO after removal. */
export function ibUverbsGetUcontext(ufile: IbUverbsFile): IbUcontext | number {
  if (ufile.device.ibDev === null) return EIO;
  return ufile.ucontext ?? EINVAL;
}

/** The uverbs file_operations. */
export const uverbsFops: FileOperations = {
  mmap: ibUverbsMmap,
  release: ibUverbsRelease,
};

/** ->release: the last reference to the struct file went; close it in task context. */
function* ibUverbsRelease(file: File): KGen {
  const ufile = fileUfile(file);
  ufile.k.spawn(`uverbs_close(${ufile.objName})`, { kind: "host", name: "delayed_fput" }, () =>
    ibUverbsClose(ufile),
  );
}

/** ib_uverbs_close(): destroy the file's hardware state, unlist it, drop the open's ref. */
export function* ibUverbsClose(ufile: IbUverbsFile): KGen {
  yield* uverbsDestroyUfileHw(ufile, "close");
  const udev = ufile.device;
  yield* udev.listsMutex.lock();
  const i = udev.uverbsFileList.indexOf(ufile);
  if (i >= 0) udev.uverbsFileList.splice(i, 1);
  udev.listsMutex.unlock();
  ibUverbsReleaseFilePut(ufile);
}

/** kref_put(&file->ref, ib_uverbs_release_file): frees the zeroed page and the file. */
export function ibUverbsReleaseFilePut(ufile: IbUverbsFile): void {
  ufile.ref.put(() => {
    const page = ufile.disassociatePage;
    ufile.disassociatePage = null;
    if (page !== null) ufile.device.phys.putPage(page);
    ufile.k.kasan.free(ufile);
  });
}

/**
 * ib_uverbs_open() + the GET_CONTEXT command: a process opens the device and gets a
 * ucontext. Returns the struct file (the process's fd holds its one reference) or -EIO
 * when the device is gone, or the driver's error.
 */
export function* ibUverbsOpen(
  udev: IbUverbsDevice,
  mm: MmStruct,
  tgid: number,
): KGen<File | number> {
  const k = udev.k;
  k.exitToUserMode();
  const idx = udev.disassociateSrcu.readLock();
  yield "ib_uverbs_open";
  const ibDev = udev.ibDev;
  if (ibDev === null) {
    udev.disassociateSrcu.readUnlock(idx);
    return EIO;
  }
  const ufile = new IbUverbsFile(k, udev);
  const filp = new File(k, null, uverbsFops, { read: true, write: true }, "uverbs");
  filp.privateData = ufile;
  ufile.filp = filp;
  yield* udev.listsMutex.lock();
  udev.uverbsFileList.push(ufile);
  udev.listsMutex.unlock();
  const ucontext = new IbUcontext(k, ibDev, mm, tgid);
  setUcontextUfile(ucontext, ufile);
  const ret =
    udev.driver.allocUcontext === undefined ? 0 : yield* udev.driver.allocUcontext(ucontext);
  if (ret < 0) k.kasan.free(ucontext);
  else ufile.ucontext = ucontext;
  udev.disassociateSrcu.readUnlock(idx);
  return filp;
}

/**
 * ib_uverbs_remove_one() / ib_uverbs_free_hw_resources(): the device is being
 * unplugged. Afterwards no process maps its memory and its contexts are destroyed.
 */
export function* ibUverbsRemoveOne(udev: IbUverbsDevice): KGen {
  udev.ibDev = null; // rcu_assign_pointer(uverbs_dev->ib_dev, NULL)
  yield "ib_uverbs_remove_one";
  yield* udev.disassociateSrcu.synchronize();
  yield* udev.listsMutex.lock();
  for (
    let ufile = udev.uverbsFileList.shift();
    ufile !== undefined;
    ufile = udev.uverbsFileList.shift()
  ) {
    ufile.ref.get();
    udev.listsMutex.unlock();
    yield* uverbsDestroyUfileHw(ufile, "driver_remove");
    ibUverbsReleaseFilePut(ufile);
    yield* udev.listsMutex.lock();
  }
  udev.listsMutex.unlock();
}

/**
 * rdma_user_mmap_disassociate(): a device reset. Every open file's mappings are zapped
 * (they refault to zeros, or SIGBUS in the seed design) while the contexts stay.
 */
export function* rdmaUserMmapDisassociateDevice(udev: IbUverbsDevice): KGen {
  yield* udev.listsMutex.lock();
  for (const ufile of [...udev.uverbsFileList]) {
    yield* ufile.hwDestroyRwsem.downWrite();
    if (ufile.ucontext !== null) yield* uverbsUserMmapDisassociate(ufile);
    ufile.hwDestroyRwsem.upWrite();
  }
  udev.listsMutex.unlock();
}
