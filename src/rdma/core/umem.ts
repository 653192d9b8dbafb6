/**
 * The pinned umem: a range of a process's memory pinned for as long as a device may
 * use it, and the scatter list of the frames behind it.
 *
 * Models drivers/infiniband/core/umem.c (ib_umem_get, ib_umem_release, __ib_umem_release)
 * and struct ib_umem (include/rdma/ib_umem.h) for memory that is neither ODP nor
 * dma-buf, as in v6.x:
 *   - ib_umem_get refuses an overflowing range (-EINVAL), a caller that may not lock
 *     memory at all (can_do_mlock: RLIMIT_MEMLOCK 0 without CAP_IPC_LOCK, -EPERM), an
 *     ODP access (-EOPNOTSUPP, ODP umems are ib_umem_odp_get's) and an empty range;
 *   - it charges the pages to mm->pinned_vm and fails with -ENOMEM past
 *     RLIMIT_MEMLOCK unless the caller has CAP_IPC_LOCK;
 *   - it pins with FOLL_LONGTERM (plus FOLL_WRITE when the access is writable) in
 *     batches of one page of page pointers, building the scatter list as it goes
 *     (physically contiguous frames share an entry up to the device's maximum segment),
 *     then DMA-maps the list;
 *   - any failure unpins what was pinned (never dirtying) and gives the charge back;
 *   - ib_umem_release unpins every page, marking it dirty when the umem was writable
 *     (the device may have written it), gives the charge back and drops the mm.
 *
 * A long-term pin fixes the device's view: the frames recorded here are what the device
 * uses until release, whatever the process's page tables do meanwhile. fork() keeps the
 * process on the same frames too, by copying pinned anonymous pages for the child
 * (src/mm/fork.ts, page_needs_cow_for_dma) instead of sharing them copy-on-write.
 *
 * Simplifications: odpsim has no IOMMU, so a DMA address is the frame number and the
 * mapping can only fail by fault injection (site "dma_map"); the ucontext stands for
 * "current" (its mm and its credentials), since one process issues a context's verbs.
 */
import { EINVAL, ENOMEM, EOPNOTSUPP, EPERM } from "../../sim/errno.ts";
import { KObject } from "../../sim/kasan.ts";
import type { KGen } from "../../sim/task.ts";
import { pinUserPagesRemote, unpinUserPagesDirtyLock } from "../../mm/gup.ts";
import { mmapReadLock, mmapReadUnlock, mmdrop, mmgrab, type MmStruct } from "../../mm/mmStruct.ts";
import { PAGE_SHIFT, PAGE_SIZE } from "../../mm/page.ts";
import type { IbDevice } from "./ibDevice.ts";
import { IB_ACCESS_ON_DEMAND, ibAccessWritable } from "./ibVerbs.ts";
import type { IbUcontext } from "./ucontext.ts";

/**
 * The maximum DMA segment the scatter list may build: what mlx5_core sets with
 * dma_set_max_seg_size (2 GiB). Other devices' limits are not modelled.
 */
export const UMEM_MAX_SEG_SIZE = 2 ** 31;

/** Pages pinned per batch: one page of struct page pointers (PAGE_SIZE / 8). */
const PIN_BATCH = PAGE_SIZE / 8;

/** One scatterlist entry: a run of physically contiguous frames. */
export interface IbUmemSge {
  readonly pfn: number;
  npages: number;
}

export class IbUmem extends KObject {
  /** umem->sgt_append: the scatter list, in VA order. */
  readonly sgl: IbUmemSge[] = [];
  /** The pages charged to owningMm.pinnedVm (ib_umem_num_pages at get). */
  readonly npages: number;

  constructor(
    readonly ibdev: IbDevice,
    /** umem->owning_mm, held with mmgrab. */
    readonly owningMm: MmStruct,
    /** umem->address and umem->length: the range as registered, not page-aligned. */
    readonly address: number,
    readonly length: number,
    readonly writable: boolean,
  ) {
    super(ibdev.k.kasan, "ib_umem");
    this.npages = ibUmemNumPages(address, length);
  }
}

/** ib_umem_num_pages(): pages the range touches. */
export function ibUmemNumPages(address: number, length: number): number {
  const first = Math.floor(address / PAGE_SIZE);
  return Math.ceil((address + length) / PAGE_SIZE) - first;
}

/** The frame behind each page of the umem, in order (rdma_umem_for_each_dma_block). */
export function ibUmemPfns(umem: IbUmem): number[] {
  const pfns: number[] = [];
  for (const sge of umem.sgl) for (let i = 0; i < sge.npages; i++) pfns.push(sge.pfn + i);
  return pfns;
}

/** ib_umem_get(): pins [addr, addr + size) of the context's process; a umem or -errno. */
export function* ibUmemGet(
  ctx: IbUcontext,
  addr: number,
  size: number,
  access: number,
): KGen<IbUmem | number> {
  const end = addr + size;
  if (addr < 0 || size < 0 || !Number.isSafeInteger(end + PAGE_SIZE)) return EINVAL;
  if (!canDoMlock(ctx)) return EPERM;
  if ((access & IB_ACCESS_ON_DEMAND) !== 0) return EOPNOTSUPP;
  const mm = ctx.mm;
  const umem = new IbUmem(ctx.device, mm, addr, size, ibAccessWritable(access));
  mmgrab(mm);
  let ret = umem.npages === 0 ? EINVAL : chargePinnedVm(ctx, umem.npages);
  if (ret === 0) {
    ret = yield* pinAll(umem);
    // ib_dma_map_sgtable_attrs(): the only way it fails here is an injected fault.
    if (ret === 0 && ctx.k.shouldFail("dma_map")) ret = ENOMEM;
    if (ret < 0) {
      yield* ibUmemUnpin(umem, false);
      mm.pinnedVm -= umem.npages;
    }
  }
  if (ret < 0) {
    mmdrop(mm);
    ctx.k.kasan.free(umem);
    return ret;
  }
  return umem;
}

/** ib_umem_release(): unpins (dirtying if writable), uncharges, drops the mm. */
export function* ibUmemRelease(umem: IbUmem): KGen {
  if (!umem.ibdev.k.kasan.check(umem, "ib_umem_release")) return;
  yield* ibUmemUnpin(umem, true);
  umem.owningMm.pinnedVm -= umem.npages;
  mmdrop(umem.owningMm);
  umem.ibdev.k.kasan.free(umem);
}

/** can_do_mlock(): a non-zero RLIMIT_MEMLOCK, or CAP_IPC_LOCK. */
function canDoMlock(ctx: IbUcontext): boolean {
  return ctx.rlimitMemlock !== 0 || ctx.capIpcLock;
}

/** The mm->pinned_vm charge against RLIMIT_MEMLOCK: 0 or -ENOMEM (charge undone). */
function chargePinnedVm(ctx: IbUcontext, npages: number): number {
  const mm = ctx.mm;
  const lockLimit = Math.floor(ctx.rlimitMemlock / 2 ** PAGE_SHIFT);
  mm.pinnedVm += npages;
  if (mm.pinnedVm > lockLimit && !ctx.capIpcLock) {
    mm.pinnedVm -= npages;
    return ENOMEM;
  }
  return 0;
}

/** The pin loop: a batch at a time under mmap_lock (pin_user_pages_fast's slow path). */
function* pinAll(umem: IbUmem): KGen<number> {
  const mm = umem.owningMm;
  let cur = Math.floor(umem.address / PAGE_SIZE) * PAGE_SIZE;
  let left = umem.npages;
  while (left > 0) {
    yield "cond_resched";
    const pfns: number[] = [];
    yield* mmapReadLock(mm);
    const flags = { longterm: true, write: umem.writable };
    const pinned = yield* pinUserPagesRemote(mm, cur, Math.min(left, PIN_BATCH), flags, pfns);
    mmapReadUnlock(mm);
    if (pinned < 0) return pinned;
    appendSgTable(umem.sgl, pfns);
    cur += pinned * PAGE_SIZE;
    left -= pinned;
  }
  return 0;
}

/** sg_alloc_append_table_from_pages(): contiguous frames extend the last entry. */
function appendSgTable(sgl: IbUmemSge[], pfns: readonly number[]): void {
  const maxPages = UMEM_MAX_SEG_SIZE / PAGE_SIZE;
  for (const pfn of pfns) {
    const last = sgl.at(-1);
    if (last !== undefined && last.pfn + last.npages === pfn && last.npages < maxPages) {
      last.npages++;
    } else {
      sgl.push({ pfn, npages: 1 });
    }
  }
}

/** __ib_umem_release() without the free: unpins each entry, dirty if asked and writable. */
function* ibUmemUnpin(umem: IbUmem, dirty: boolean): KGen {
  const phys = umem.owningMm.phys;
  const makeDirty = umem.writable && dirty;
  for (const sge of umem.sgl.splice(0)) {
    const pfns = Array.from({ length: sge.npages }, (_, i) => sge.pfn + i);
    unpinUserPagesDirtyLock(phys, pfns, makeDirty);
    yield "cond_resched";
  }
}
