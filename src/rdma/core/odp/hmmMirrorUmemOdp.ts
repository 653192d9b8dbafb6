/**
 * The hmm-mirror design's umem and per-mm mirror: seed 002's "RDMA/odp: convert to use
 * HMM for ODP" (v5, on v5.2-rc1), as posted.
 *
 * Models drivers/infiniband/core/umem_odp.c and include/rdma/ib_umem_odp.h after that
 * patch: struct ib_ucontext_per_mm embeds a struct hmm_mirror instead of an
 * mmu_notifier; ib_sync_cpu_device_pagetables() replaces invalidate_range_start (and
 * there is no end: validity is tracked per hmm_range); the umem keeps `pfns` (HMM
 * device entries: ODP_READ_BIT / ODP_WRITE_BIT flags above ODP_FLAGS_BITS) and
 * `dma_list` (bus addresses). The IB core's device view (pageList / dmaList of
 * IbUmemOdp) is kept in step with them, so the driver's UMR and the oracles read the
 * same record in every design.
 */
import { EAGAIN } from "../../../sim/errno.ts";
import type { KObject } from "../../../sim/kasan.ts";
import type { WorkStruct } from "../../../sim/sync/workqueue.ts";
import type { KGen } from "../../../sim/task.ts";
import type { IntervalTreeNode } from "../../../mm/intervalTree.ts";
import { mmapWriteLock, mmapWriteUnlock } from "../../../mm/mmStruct.ts";
import {
  HmmMirror,
  hmmMirrorRegister,
  hmmMirrorUnregister,
  type HmmUpdate,
} from "../../../mm/notifier/hmmMirror.ts";
import { IbUmemOdp, ibUmemEnd, ibUmemStart, type UmemOdpInit } from "../umemOdp.ts";
import {
  UcontextPerMm,
  forEachUmemInRange,
  getPerMm as getPerMmWith,
  ibUmemNotifierRelease,
} from "./perMm.ts";

export const ODP_READ_BIT = 1 << 0;
export const ODP_WRITE_BIT = 1 << 1;
/** Unused by RDMA; there to fill HMM's flag table (device-private memory). */
export const ODP_DEVICE_BIT = 1 << 2;
export const ODP_FLAGS_BITS = 3;
/** odp_hmm_flags[HMM_PFN_FLAG_MAX]: VALID, WRITE, DEVICE_PRIVATE. */
export const ODP_HMM_FLAGS: readonly number[] = [ODP_READ_BIT, ODP_WRITE_BIT, ODP_DEVICE_BIT];
/** odp_hmm_values[HMM_PFN_VALUE_MAX]: ERROR, NONE, SPECIAL. */
export const ODP_HMM_VALUES: readonly number[] = [-1, 0, -2];

export class HmmMirrorUmemOdp extends IbUmemOdp {
  /** umem_odp->pfns: HMM device entries, one per page. */
  readonly pfns: number[];
  /** umem_odp->dma_list: bus addresses, one per page. */
  readonly daddrs: number[];
  perMm: HmmPerMm | null = null;
  treeNode: IntervalTreeNode<HmmMirrorUmemOdp> | null = null;
  /** umem_odp->work: the driver's deferred free of an implicit child (mr_leaf_free_action). */
  work: WorkStruct | null = null;

  constructor(init: UmemOdpInit) {
    super(init);
    const pages = this.kind === "implicit_root" ? 0 : this.length / this.pageSize;
    this.pfns = new Array<number>(pages).fill(0);
    this.daddrs = new Array<number>(pages).fill(0);
  }
}

/** The hmm-mirror per_mm: its notifier is an hmm_mirror. */
export class HmmPerMm extends UcontextPerMm<HmmMirrorUmemOdp> {
  readonly mirror = new HmmMirror(
    {
      name: "ib_umem_notifiers",
      release: () => ibUmemNotifierRelease(this, releaseTrampoline),
      syncCpuDevicePagetables: (_m, update) => ibSyncCpuDevicePagetables(this, update),
    },
    this,
  );

  /** alloc_per_mm(): hmm_mirror_register under mmap_sem for write. */
  *register(): KGen<number> {
    yield* mmapWriteLock(this.mm);
    const ret = yield* hmmMirrorRegister(this.mirror, this.mm);
    mmapWriteUnlock(this.mm);
    return ret;
  }

  /** As posted: hmm_mirror_unregister, then kfree at once. */
  *unregisterAndFree(): KGen {
    yield* hmmMirrorUnregister(this.mirror);
    this.context.k.kasan.free(this);
  }
}

function isHmmPerMm(p: KObject): p is HmmPerMm {
  return p instanceof HmmPerMm;
}

/** ib_sync_cpu_device_pagetables(): the mirror's one invalidation callback. */
function* ibSyncCpuDevicePagetables(perMm: HmmPerMm, update: HmmUpdate): KGen<number> {
  if (update.blockable) yield* perMm.umemRwsem.downRead();
  else if (!perMm.umemRwsem.downReadTrylock()) return EAGAIN;
  if (!perMm.active) {
    perMm.umemRwsem.upRead();
    return 0;
  }
  const ret = yield* forEachUmemInRange(perMm, update.start, update.end, update.blockable, (umem) =>
    invalidateRangeTrampoline(umem, update.start, update.end),
  );
  perMm.umemRwsem.upRead();
  return ret;
}

function* invalidateRangeTrampoline(umem: HmmMirrorUmemOdp, start: number, end: number): KGen {
  const hook = umem.context.invalidateRange;
  if (hook !== null) yield* hook(umem, start, end);
}

/** ib_umem_notifier_release_trampoline(): the umem dies; the driver zaps all of it. */
function* releaseTrampoline(umem: HmmMirrorUmemOdp): KGen {
  umem.dying = true;
  yield "odp dying";
  const hook = umem.context.invalidateRange;
  if (hook !== null) yield* hook(umem, ibUmemStart(umem), ibUmemEnd(umem));
}

/** get_per_mm(). */
export function getPerMm(umem: HmmMirrorUmemOdp): KGen<number> {
  return getPerMmWith(umem, isHmmPerMm, () => new HmmPerMm(umem.context, umem.owningMm));
}
