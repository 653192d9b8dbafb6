/**
 * A process's open RDMA device context.
 *
 * Models struct ib_ucontext (include/rdma/ib_verbs.h) as the seeds use it: the device,
 * the opening process's address space (ucontext->tgid / current->mm at open), and the
 * driver's invalidation hook `invalidate_range` that the per-mm notifier of the classic
 * and hmm-mirror designs calls for each umem an invalidation overlaps. The per_mm list
 * (one ib_ucontext_per_mm per mm with ODP MRs) is owned by those designs' modules.
 */
import { KObject } from "../../sim/kasan.ts";
import { Mutex } from "../../sim/sync/mutex.ts";
import type { Kernel } from "../../sim/kernel.ts";
import type { KGen } from "../../sim/task.ts";
import type { MmStruct } from "../../mm/mmStruct.ts";
import type { IbDevice } from "./ibDevice.ts";
import type { IbMr } from "./ibMr.ts";
import type { RdmaUserMmapEntry } from "./uverbs/mmapEntry.ts";
import type { IbUverbsFile } from "./uverbs/uverbsFile.ts";
import type { IbUmemOdp } from "./umemOdp.ts";

/** The driver's ucontext operations, declared as methods (see InvalidateRangeHook). */
interface UcontextDriverOps {
  invalidateRange(umem: IbUmemOdp, start: number, end: number): KGen;
}

/**
 * ucontext->invalidate_range: the driver zaps and unmaps [start, end) of a umem. Its
 * parameter is checked bivariantly (it comes from a method), so a design's driver may
 * take that design's umem type: every umem of a ucontext is made by the one design the
 * kernel runs, the same premise Mlx5OdpDesign<U> and UmemOdpDesign<U> rest on.
 */
export type InvalidateRangeHook = UcontextDriverOps["invalidateRange"];

export class IbUcontext extends KObject {
  /** Set by the driver in alloc_ucontext (mlx5_ib_invalidate_range). */
  invalidateRange: InvalidateRangeHook | null = null;
  /** Cleared when the device is disassociated (hot unplug); verbs then fail -EIO. */
  live = true;
  /** ucontext->per_mm_list (classic and hmm-mirror designs), typed by their module. */
  readonly perMmList: KObject[] = [];
  readonly perMmListLock: Mutex;
  /** PDs allocated so far (the next pdn). */
  pdCount = 0;
  /** The MR uobjects the process holds, in creation order (destroyed at close). */
  readonly mrs = new Set<IbMr>();
  /**
   * The credentials of the process issuing this context's verbs ("current" when a verb
   * pins memory): rlimit(RLIMIT_MEMLOCK) in bytes and capable(CAP_IPC_LOCK). The default
   * is RLIM_INFINITY, the `ulimit -l unlimited` RDMA hosts are configured with (the
   * kernel's own default, MLOCK_LIMIT, is 8 MiB since v5.16).
   */
  rlimitMemlock = Number.POSITIVE_INFINITY;
  capIpcLock = false;
  /** ucontext->ufile: the uverbs file it was created through (null in unit tests). */
  ufile: IbUverbsFile | null = null;
  /** ucontext->mmap_xa: page offset → mmap entry (uverbs/mmapEntry.ts). */
  readonly mmapXa = new Map<number, RdmaUserMmapEntry>();

  constructor(
    readonly k: Kernel,
    readonly device: IbDevice,
    /** The mm of the process that opened the device. */
    readonly mm: MmStruct,
    /** ucontext->tgid: the opening process. */
    readonly tgid: number,
  ) {
    super(k.kasan, "ib_ucontext");
    this.perMmListLock = new Mutex(k, `per_mm_list_lock(${this.objName})`, "per_mm_list_lock");
  }
}
