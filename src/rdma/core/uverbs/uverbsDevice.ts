/**
 * The uverbs character device of one RDMA device, and what a driver gives it.
 *
 * Models struct ib_uverbs_device (drivers/infiniband/core/uverbs.h, uverbs_main.c): the
 * SRCU-protected pointer to the ib_device (NULL once the device is removed),
 * disassociate_srcu that every file operation reads under, lists_mutex and the list of
 * open files. The driver half is the part of struct ib_device_ops the mmap path calls
 * (alloc/dealloc_ucontext, mmap, mmap_free, disassociate_ucontext): IbDeviceOps
 * (ibDevice.ts) is the verbs half and has no mmap, so the uverbs layer keeps its own.
 */
import type { IbDevice } from "../ibDevice.ts";
import type { IbUcontext } from "../ucontext.ts";
import type { Kernel } from "../../../sim/kernel.ts";
import { KObject } from "../../../sim/kasan.ts";
import { Mutex } from "../../../sim/sync/mutex.ts";
import { SrcuStruct } from "../../../sim/sync/srcu.ts";
import type { KGen } from "../../../sim/task.ts";
import type { PhysMem } from "../../../mm/physMem.ts";
import type { VmAreaStruct } from "../../../mm/vma.ts";
import type { RdmaUserMmapEntry } from "./mmapEntry.ts";
import type { UverbsMmapDesign } from "./umapDesign.ts";
import type { IbUverbsFile } from "./uverbsFile.ts";

/** The mmap-related driver operations (struct ib_device_ops). */
export interface UverbsDriver {
  /** ->alloc_ucontext: 0 or -errno. */
  allocUcontext?(ucontext: IbUcontext): KGen<number>;
  /** ->dealloc_ucontext: the driver frees what it shared with the process. */
  deallocUcontext?(ucontext: IbUcontext): KGen;
  /** ->mmap(ucontext, vma): called by ib_uverbs_mmap; 0 or -errno. */
  mmap(ucontext: IbUcontext, vma: VmAreaStruct): KGen<number>;
  /** ->mmap_free(entry): the last reference to an mmap entry is gone. */
  mmapFree?(entry: RdmaUserMmapEntry): void;
  /** ->disassociate_ucontext: hardware teardown of a context on hot unplug. */
  disassociateUcontext?(ucontext: IbUcontext): void;
  /** PCI hot unplug, after ib_uverbs_remove_one: the device's IO memory (its BAR) goes. */
  pciRemove?(): void;
}

export class IbUverbsDevice extends KObject {
  /** uverbs_dev->ib_dev: read under disassociateSrcu; null after ib_uverbs_remove_one. */
  ibDev: IbDevice | null;
  readonly disassociateSrcu: SrcuStruct;
  /** lists_mutex: protects uverbsFileList. */
  readonly listsMutex: Mutex;
  /** uverbs_file_list: the open files not yet disassociated or closed. */
  readonly uverbsFileList: IbUverbsFile[] = [];

  constructor(
    readonly k: Kernel,
    /** The machine's memory (the fault handler's zeroed pages come from it). */
    readonly phys: PhysMem,
    ibDev: IbDevice,
    readonly driver: UverbsDriver,
    /** The mmap tracking design (seed 004, or the later mmap-entry form). */
    readonly design: UverbsMmapDesign,
  ) {
    super(k.kasan, "ib_uverbs_device");
    this.ibDev = ibDev;
    this.disassociateSrcu = new SrcuStruct(k, `disassociate_srcu(${ibDev.name})`);
    this.listsMutex = new Mutex(k, `lists_mutex(${ibDev.name})`, "lists_mutex");
  }
}
