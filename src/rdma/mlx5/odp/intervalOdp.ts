/**
 * The driver side of the interval design: pagefault_real_mr / pagefault_implicit_mr on
 * ib_umem_odp_map_dma_and_lock, mlx5_ib_invalidate_range as each umem's interval
 * notifier op, implicit children in the parent's table by compare-and-swap, reaping of
 * children whose pages are all gone, and the MR destroy order.
 *
 * Models drivers/infiniband/hw/mlx5/odp.c and mr.c as of v6.14 (both 2025 implicit ODP
 * fixes applied). Users of an MR found by key hold mmkey.usecount (v5.13+, replacing
 * the odp_srcu of earlier kernels); a key is looked up in dev->odp_mkeys, which only
 * registered ODP MRs are in (implicit children are reached through the parent's KSM).
 * A fault on a key not there (pinned, a child, gone) is "skipping non ODP MR": 0, its
 * bytes counted as mapped; one a dereg in progress has erased is -EFAULT here, a stated
 * simplification (pagefaultSingleDataSegment). Prefetch looks up and holds its MR in
 * get_prefetchable_mr() (prefetch.ts: -ENOENT when the key is not there) and calls
 * pagefault_mr on it directly.
 *
 *     fault (kworker)                         ->invalidate (notifier of the umem)
 *     mr = odp_mkeys[key]; usecount++         !blockable: refuse
 *     np = map_dma_and_lock (mutex held)      lock umem_mutex; set_seq
 *     update_xlt(MTT of the pages)            zap mapped MTT blocks; unmap DMA pages
 *     unlock umem_mutex; usecount--           child with no pages left: queue its reap
 *                                             unlock umem_mutex
 *
 * Destroy (mlx5_ib_dereg_mr): erase the key from odp_mkeys and wait for usecount to
 * reach zero (running faults and child reaps), revoke the mkey (the device stops DMA),
 * release the umem (unmap everything, remove the notifier: no invalidation runs after),
 * destroy an implicit parent's remaining children, free.
 */
import { EFAULT, EINVAL } from "../../../sim/errno.ts";
import { systemWorkqueue, WorkStruct } from "../../../sim/sync/workqueue.ts";
import type { KGen } from "../../../sim/task.ts";
import { setForkOpensBeforeCopy } from "../../../mm/fork.ts";
import { mmuIntervalSetSeq } from "../../../mm/notifier/mmuIntervalNotifier.ts";
import type { MmuNotifierRange } from "../../../mm/notifier/subscriptions.ts";
import type { IbPd } from "../../core/ibPd.ts";
import { intervalDesign } from "../../core/odp/intervalDesign.ts";
import {
  IntervalUmemOdp,
  ibUmemOdpMapDmaAndLock,
  intervalUnmapDmaPages,
} from "../../core/odp/intervalUmemOdp.ts";
import type { UmemOdpDriverOps } from "../../core/odp/umemOdpDesign.ts";
import {
  ODP_READ_ALLOWED_BIT,
  ODP_WRITE_ALLOWED_BIT,
  ibUmemEnd,
  ibUmemStart,
} from "../../core/umemOdp.ts";
import { accessFields, objectId } from "../../../sim/objectAccess.ts";
import { Mlx5Mkey, mkeyId } from "../mkey.ts";
import type { Mlx5IbDev } from "../mlx5IbDev.ts";
import { Mlx5IbMr, childSlotId, traceUsecount } from "../mlx5IbMr.ts";
import {
  MLX5_IB_UPD_XLT_ZAP,
  mlx5IbUmrEnable,
  mlx5IbUpdateKsm,
  mlx5IbUpdateXlt,
  mlx5rUmrRevokeMr,
} from "../umr.ts";
import {
  addBytesMapped,
  mkeyMrPageCount,
  osPages,
  setPageCountPerDirectMr,
  type BytesMapped,
} from "./pageCount.ts";
import { setPrefetchErrnos } from "../prefetch.ts";
import {
  MLX5_IMR_MTT_SIZE,
  implicitChildSlot,
  mlx5ImrKsmEntries,
  mlx5ImrMttSize,
  mlx5SetImrMttSize,
  newImplicitChildMkey,
  newImplicitKsmMkey,
} from "./implicitMr.ts";
import { zapBlocks } from "./zapBlocks.ts";
import {
  designMrByKey,
  mrOfUmem,
  type Mlx5OdpDesign,
  type PagefaultFlags,
} from "./mlx5OdpDesign.ts";

export { MLX5_IMR_MTT_SIZE, mlx5ImrMttSize, mlx5SetImrMttSize };

/** An MR of this design: its umem is an interval umem. */
type IntervalMr = Mlx5IbMr<IntervalUmemOdp>;

/** mlx5_mn_ops: what every umem of this driver is created with. */
const mlx5MnOps: UmemOdpDriverOps<IntervalUmemOdp> = { invalidate: mlx5IbInvalidateRange };

// --- mmkey usecount ---------------------------------------------------------------

/** mlx5r_deref_odp_mkey(). */
function mlx5rDerefOdpMkey(mr: IntervalMr): void {
  const k = mr.dev.k;
  if (mr.usecount <= 0) {
    k.report("refcount_underflow", `refcount_t: underflow (usecount of ${mr.objName})`, {
      mr: mr.objName,
    });
    return;
  }
  --mr.usecount;
  traceUsecount(mr, "mlx5r_deref_odp_mkey", -1);
  if (mr.usecount === 0) mr.usecountWait.wakeUp();
}

/** mlx5r_deref_wait_odp_mkey(): drop the caller's count and wait for all others. */
function* mlx5rDerefWaitOdpMkey(mr: IntervalMr): KGen {
  mlx5rDerefOdpMkey(mr);
  traceUsecount(mr, "mlx5r_deref_wait_odp_mkey", 0);
  yield* mr.usecountWait.waitEvent(() => mr.usecount === 0);
}

// --- invalidation ------------------------------------------------------------------

/**
 * mlx5_ib_invalidate_range(), the notifier's ->invalidate: refuses a non-blockable
 * range; else, in one hold of umem_mutex, records the invalidation (set_seq), zaps the
 * mapped MTT entries, unmaps the DMA pages and, for an implicit child left without
 * pages, queues its destruction.
 */
export function* mlx5IbInvalidateRange(
  umem: IntervalUmemOdp,
  range: MmuNotifierRange,
  curSeq: number,
): KGen<boolean> {
  const k = umem.context.k;
  if (!range.blockable) return false;
  if (!k.kasan.check(umem, "mlx5_ib_invalidate_range locks umem_mutex")) return true;
  yield* umem.umemMutex.lock();
  mmuIntervalSetSeq(umem.notifier, curSeq);
  // With no page mapped, umem->private may not be set up yet.
  if (umem.npages === 0) {
    umem.umemMutex.unlock();
    return true;
  }
  const mr = mrOfUmem(umem);
  if (mr === null || !k.kasan.check(mr, "mlx5_ib_invalidate_range uses mr")) {
    umem.umemMutex.unlock();
    return true;
  }
  const from = Math.max(ibUmemStart(umem), range.start);
  const to = Math.min(ibUmemEnd(umem), range.end);
  for (const [blkStart, count] of zapBlocks(umem, from, to)) {
    yield* mlx5IbUpdateXlt(mr, blkStart, count, MLX5_IB_UPD_XLT_ZAP);
  }
  // The device no longer sees the pages: unmap them, dirtying the written ones.
  intervalUnmapDmaPages(umem, from, to);
  if (umem.npages === 0 && mr.parent !== null) destroyUnusedImplicitChildMr(mr);
  umem.umemMutex.unlock();
  return true;
}

/**
 * destroy_unused_implicit_child_mr(): under the children table's lock, take the child
 * out and queue its destruction, holding a count on the parent until the work is done.
 */
function destroyUnusedImplicitChildMr(mr: IntervalMr): void {
  const imr = mr.parent;
  if (imr === null) return;
  const k = mr.dev.k;
  // refcount_inc_not_zero(): a parent being destroyed frees its children itself.
  if (imr.usecount === 0) return;
  imr.usecount++;
  traceUsecount(imr, "destroy_unused_implicit_child_mr", 1);
  const idx = implicitChildSlot(mr);
  if (k.hasDefect("implicit-child-double-destroy")) {
    // Catalog defect implicit-child-double-destroy (CVE-2025-21714): before "RDMA/mlx5:
    // Fix implicit ODP use after free" the slot was erased unconditionally, so a second
    // invalidation of an already-reaped child queued its destruction again.
    imr.children.delete(idx);
  } else if (imr.children.get(idx) !== mr) {
    // Someone else reaps it. Catalog defect implicit-parent-ref-leak: the early return
    // that the CVE fix added kept the parent's count until "RDMA/mlx5: Fix implicit
    // ODP hang on parent deregistration".
    if (!k.hasDefect("implicit-parent-ref-leak")) mlx5rDerefOdpMkey(imr);
    return;
  } else {
    imr.children.delete(idx);
  }
  k.event("implicit_child_reap_queued", { child: mr.objName, slot: idx });
  k.event("destroy_unused_implicit_child_mr", {
    child: mr.objName,
    slot: idx,
    // Queueing its destruction is a write of the child's life (the whole object).
    ...accessFields([], [childSlotId(imr, idx), objectId(mr.objName)]),
  });
  // Freeing an MR sleeps: bounce to a work queue.
  mr.odpDestroyWork ??= new WorkStruct("free_implicit_child_mr_work", () =>
    freeImplicitChildMrWork(mr),
  );
  systemWorkqueue(k, "events_unbound").queueWork(mr.odpDestroyWork);
}

/**
 * free_implicit_child_mr_work(): wait for the child's users, point its KSM slot back
 * at whatever the table holds (the null mkey) before the child dies, destroy it, and
 * let go of the parent.
 */
function* freeImplicitChildMrWork(mr: IntervalMr): KGen {
  const k = mr.dev.k;
  k.event("free_implicit_child_mr_work", {
    mr: mr.objName,
    ...accessFields([objectId(mr.objName)]),
  });
  if (!k.kasan.check(mr, "free_implicit_child_mr_work uses the child mr")) return;
  const imr = mr.parent;
  if (imr === null) return;
  yield* mlx5rDerefWaitOdpMkey(mr);
  const odpImr = imr.umem;
  if (odpImr === null) throw new Error("implicit parent without its umem");
  yield* odpImr.umemMutex.lock();
  yield* mlx5IbUpdateKsm(imr, implicitChildSlot(mr), 1);
  odpImr.umemMutex.unlock();
  yield* mlx5IbDeregMr(mr);
  mlx5rDerefOdpMkey(imr);
}

// --- page faults -------------------------------------------------------------------

/**
 * pagefault_real_mr(): map the pages of [userVa, userVa + bcnt) of one MTT MR and write
 * them into its MTT while map_dma_and_lock's umem_mutex is still held. Returns the
 * number of PAGE_SIZE pages mapped (np << (umem page_shift - PAGE_SHIFT), so a 2 MiB
 * page counts 512) and adds the bytes to `bytesMapped`, or an errno.
 */
function* pagefaultRealMr(
  mr: IntervalMr,
  odp: IntervalUmemOdp,
  userVa: number,
  bcnt: number,
  flags: PagefaultFlags,
  bytesMapped: BytesMapped | null,
): KGen<number> {
  const k = mr.dev.k;
  if (!k.kasan.check(odp, "pagefault_real_mr uses the umem")) return EFAULT;
  const startIdx = Math.floor((userVa - ibUmemStart(odp)) / odp.pageSize);
  let accessMask = ODP_READ_ALLOWED_BIT;
  if (odp.writable && flags.downgrade !== true) accessMask |= ODP_WRITE_ALLOWED_BIT;
  const fault = flags.snapshot !== true;
  const np = yield* ibUmemOdpMapDmaAndLock(odp, userVa, bcnt, accessMask, fault);
  if (np < 0) return np;
  // map_dma_and_lock checked the pages belong to this MR; the MTT follows in the same hold.
  const ret = yield* mlx5IbUpdateXlt(mr, startIdx, np, 0);
  odp.umemMutex.unlock();
  if (ret < 0) return ret;
  addBytesMapped(bytesMapped, np, odp.pageShift, userVa % odp.pageSize, bcnt);
  return osPages(np, odp.pageShift);
}

/**
 * implicit_get_child_mr(): a new child umem + MTT MR for slot `idx`, published in the
 * parent's table by compare-and-swap; a loser destroys its own and uses the winner's.
 * Returns the child with a usecount held for the caller, or an errno.
 */
function* implicitGetChildMr(imr: IntervalMr, idx: number): KGen<IntervalMr | number> {
  const dev = imr.dev;
  const root = imr.umem;
  if (root === null) return EINVAL;
  const size = mlx5ImrMttSize(dev);
  const odp = yield* intervalDesign.allocChild(root, idx * size, size, mlx5MnOps);
  if (typeof odp === "number") return odp;
  const mkey = newImplicitChildMkey(dev, imr.pd.pdn, idx);
  const mr = new Mlx5IbMr(dev.k, {
    dev,
    pd: imr.pd,
    mkey,
    access: imr.access,
    umem: odp,
    parent: imr,
  });
  dev.mkeys.set(mkey.key, mkey);
  dev.mrs.set(mkey.key, mr);
  odp.driverPrivate = mr;
  // One count for the table, one for the caller.
  mr.usecount = 2;
  mr.live = true;
  yield* mlx5IbUmrEnable(mr);
  const winner = imr.children.get(idx);
  if (winner !== undefined) {
    // Another fault created this child first: use theirs.
    winner.usecount++;
    mr.usecount = 0;
    yield* mlx5IbDeregMr(mr);
    return winner;
  }
  imr.children.set(idx, mr);
  dev.k.event("implicit_child_created", { child: mr.objName, slot: idx, key: mkey.key });
  dev.k.event("implicit_get_child_mr", {
    child: mr.objName,
    slot: idx,
    ...accessFields([], [childSlotId(imr, idx)], [objectId(mr.objName)]),
  });
  return mr;
}

/**
 * pagefault_implicit_mr(): for each child slot [va, va + bcnt) touches, find or create
 * the child and fault its pages in; then, if children were created, rewrite those KSM
 * slots under the parent's umem_mutex.
 */
function* pagefaultImplicitMr(
  imr: IntervalMr,
  odpImr: IntervalUmemOdp,
  va: number,
  bcnt: number,
  flags: PagefaultFlags,
  bytesMapped: BytesMapped | null,
): KGen<number> {
  const dev = imr.dev;
  const size = mlx5ImrMttSize(dev);
  const limit = mlx5ImrKsmEntries(dev) * size;
  if (va >= limit || limit - va < bcnt) return EFAULT;
  const endIdx = Math.floor((va + bcnt - 1) / size);
  let updStart = endIdx + 1;
  let updLen = 0;
  let npages = 0;
  let ret = 0;
  let userVa = va;
  let left = bcnt;
  while (left > 0) {
    const idx = Math.floor(userVa / size);
    let mtt = imr.children.get(idx);
    if (mtt === undefined) {
      const made = yield* implicitGetChildMr(imr, idx);
      if (typeof made === "number") {
        ret = made;
        break;
      }
      mtt = made;
      updStart = Math.min(updStart, idx);
      updLen = idx - updStart + 1;
    } else {
      mtt.usecount++;
      traceUsecount(mtt, "pagefault_implicit_mr", 1);
    }
    const odp = mtt.umem;
    if (odp === null) throw new Error("implicit child without its umem");
    const len = Math.min(userVa + left, ibUmemEnd(odp)) - userVa;
    ret = yield* pagefaultRealMr(mtt, odp, userVa, len, flags, bytesMapped);
    mlx5rDerefOdpMkey(mtt);
    if (ret < 0) break;
    userVa += len;
    left -= len;
    npages += ret;
  }
  if (ret >= 0) ret = npages;
  if (updLen === 0) return ret;
  // The table changed: make the KSM agree before the device is resumed.
  yield* odpImr.umemMutex.lock();
  const err = yield* mlx5IbUpdateKsm(imr, updStart, updLen);
  odpImr.umemMutex.unlock();
  return err < 0 ? err : ret;
}

/** pagefault_mr(): an explicit MR's range check, or the implicit path. */
function* pagefaultMr(
  mr: IntervalMr,
  va: number,
  bcnt: number,
  flags: PagefaultFlags,
  bytesMapped: BytesMapped | null,
): KGen<number> {
  const odp = mr.umem;
  if (odp === null) return EINVAL;
  if (odp.isImplicitOdp) {
    return yield* pagefaultImplicitMr(mr, odp, va, bcnt, flags, bytesMapped);
  }
  const userVa = va - mr.iova + odp.address;
  if (userVa < ibUmemStart(odp) || userVa >= ibUmemEnd(odp) || ibUmemEnd(odp) - userVa < bcnt) {
    return EFAULT;
  }
  return yield* pagefaultRealMr(mr, odp, userVa, bcnt, flags, bytesMapped);
}

// --- registration and destruction --------------------------------------------------

/** mlx5r_store_odp_mkey(): faults may now find the MR by key. */
function mlx5rStoreOdpMkey(mr: IntervalMr): void {
  mr.usecount = 1;
  mr.inOdpMkeys = true;
  mr.live = true;
}

function* createUserOdpMr(
  dev: Mlx5IbDev,
  pd: IbPd,
  start: number,
  length: number,
  access: number,
): KGen<IntervalMr | number> {
  const odp = yield* intervalDesign.get(pd.uctx, start, length, access, mlx5MnOps);
  if (typeof odp === "number") return odp;
  const mkey = new Mlx5Mkey(dev.allocKey(), "mtt", pd.pdn, odp.address, odp.length, odp.pageShift);
  const mr = new Mlx5IbMr(dev.k, { dev, pd, mkey, access, umem: odp });
  dev.mkeys.set(mkey.key, mkey);
  dev.mrs.set(mkey.key, mr);
  odp.driverPrivate = mr;
  mlx5rStoreOdpMkey(mr);
  // mlx5_ib_init_odp_mr(): map what the CPU already has (snapshot) and enable the mkey.
  const snapshot = { write: false, snapshot: true };
  const ret = yield* pagefaultRealMr(mr, odp, odp.address, odp.length, snapshot, null);
  if (ret < 0) {
    yield* mlx5IbDeregMr(mr);
    return ret;
  }
  return mr;
}

/** mlx5_ib_alloc_implicit_mr(): the root umem and a KSM mkey over the address space. */
function* mlx5IbAllocImplicitMr(
  dev: Mlx5IbDev,
  pd: IbPd,
  access: number,
): KGen<IntervalMr | number> {
  const root = yield* intervalDesign.allocImplicit(pd.uctx, access, mlx5MnOps);
  if (typeof root === "number") return root;
  const mkey = newImplicitKsmMkey(dev, pd.pdn);
  const imr = new Mlx5IbMr(dev.k, { dev, pd, mkey, access, umem: root });
  root.driverPrivate = imr;
  // Every slot starts at the null mkey: the KSM's Map holds no entry.
  yield* mlx5IbUmrEnable(imr);
  dev.mkeys.set(mkey.key, mkey);
  dev.mrs.set(mkey.key, imr);
  mlx5rStoreOdpMkey(imr);
  return imr;
}

/**
 * mlx5_ib_dereg_mr() of an ODP MR: unpublish and wait for users, revoke the mkey,
 * release the umem, destroy an implicit parent's remaining children, free.
 */
export function* mlx5IbDeregMr(mr: IntervalMr): KGen<number> {
  const dev = mr.dev;
  const k = dev.k;
  if (!k.kasan.check(mr, "mlx5_ib_dereg_mr")) return EINVAL;
  const umem = mr.umem;
  if (umem === null) return EINVAL;
  if (mr.usecount !== 0 && mr.inOdpMkeys) {
    mr.inOdpMkeys = false;
    mr.live = false;
    yield* mlx5rDerefWaitOdpMkey(mr);
  }
  // Stop DMA.
  yield* mlx5rUmrRevokeMr(mr);
  yield* intervalDesign.release(umem);
  // mlx5_ib_free_odp_mr(): an implicit parent's children are already unreachable.
  for (const [idx, child] of [...mr.children]) {
    mr.children.delete(idx);
    yield* mlx5IbDeregMr(child);
  }
  dev.mkeys.delete(mr.mmkey.key);
  dev.mrs.delete(mr.mmkey.key);
  k.event("destroy_mkey", { mkey: mr.mmkey.key, ...accessFields([], [mkeyId(mr.mmkey.key)]) });
  k.kasan.free(mr);
  return 0;
}

/**
 * The prefetch's pagefault_mr() (mlx5_ib_prefetch_sg_list, mlx5_ib_prefetch_mr_work): on
 * the MR get_prefetchable_mr() found and holds (prefetchHold), with no second lookup in
 * odp_mkeys, so a dereg that erased the key meanwhile waits for it and the pages are
 * mapped; no page-count check (that is pagefault_single_data_segment's).
 */
function* prefetchPagefaultMr(
  dev: Mlx5IbDev,
  key: number,
  va: number,
  bcnt: number,
  flags: PagefaultFlags,
): KGen<number> {
  yield "pagefault_mr (prefetch)";
  const mr = designMrByKey<IntervalUmemOdp>(dev, key);
  if (mr === undefined || !dev.k.kasan.check(mr, "prefetch uses the mr it holds")) return EFAULT;
  return yield* pagefaultMr(mr, va, bcnt, flags, null);
}

export const intervalMlx5Odp: Mlx5OdpDesign<IntervalUmemOdp> = {
  core: intervalDesign,

  kernelSetup(k) {
    // The modern notifier core: the lockdep map and the start/end pairing are on; and
    // fork calls a copy's ->open before copy_page_range() (v6.9+).
    setForkOpensBeforeCopy(k, true);
    // pagefault_single_data_segment checks each MR's page count (235f23840219, v6.14-rc1).
    setPageCountPerDirectMr(k, true);
    // advise_mr refusals from get_prefetchable_mr()'s detailed codes (v5.16+, prefetch.ts).
    setPrefetchErrnos(k, "v5.16");
  },

  allocUcontext() {
    // Interval notifiers are per umem: nothing to hook on the ucontext.
  },

  *regOdpMr(dev, pd, start, length, access) {
    if (start === 0 && length === Number.MAX_SAFE_INTEGER) {
      return yield* mlx5IbAllocImplicitMr(dev, pd, access);
    }
    return yield* createUserOdpMr(dev, pd, start, length, access);
  },

  deregOdpMr: mlx5IbDeregMr,

  // get_prefetchable_mr(): refcount_inc(&mmkey->usecount) under the odp_mkeys xa_lock;
  // destroy_prefetch_work() drops it, and dereg's mlx5r_deref_wait_odp_mkey waits for it.
  prefetchHold: {
    get(mr) {
      if (!mr.inOdpMkeys || mr.usecount === 0) return false;
      mr.usecount++;
      traceUsecount(mr, "get_prefetchable_mr", 1);
      return true;
    },
    put: mlx5rDerefOdpMkey,
  },

  // The prefetch's PD was get_prefetchable_mr()'s to check (-EPERM).
  *pagefaultSingleDataSegment(dev, _pd, key, va, bcnt, flags, bytesMapped) {
    const k = dev.k;
    if (flags.prefetch === true) return yield* prefetchPagefaultMr(dev, key, va, bcnt, flags);
    // xa_load(&dev->odp_mkeys) and refcount_inc under xa_lock: one atomic step.
    yield "odp_mkeys lookup";
    const mr = designMrByKey<IntervalUmemOdp>(dev, key);
    if (mr === undefined || mr.umem === null || mr.parent !== null) {
      // Not in odp_mkeys: no MR by that key any more (its dereg is done, the mkey
      // destroyed), a pinned MR, an implicit child (reached through its parent's KSM).
      // "skipping non ODP MR": treated as faulted in whole, 0.
      if (bytesMapped != null) bytesMapped.value += bcnt;
      return 0;
    }
    if (!mr.inOdpMkeys) {
      // Simplification: a key a dereg in progress has erased is not in odp_mkeys either,
      // and the kernel skips it the same way (0, bytes counted); the device, resumed,
      // faults again on the mkey, still valid, until the dereg revokes it and the access
      // fails. odpsim fails the fault at once with the -EFAULT that access ends with:
      // the spin needs the dereg to run, which a strict-priority schedule (PCT) may
      // never do (31 of 1,500 PCT schedules of examples/11-dereg-racing-faults.yaml under
      // interval ran into the step bound when the model spun).
      return EFAULT;
    }
    if (!k.kasan.check(mr, "pagefault finds mr by key")) return EFAULT;
    mr.usecount++;
    traceUsecount(mr, "pagefault_single_data_segment", 1);
    let ret = yield* pagefaultMr(mr, va, bcnt, flags, bytesMapped ?? null);
    ret = mkeyMrPageCount(k, va, bcnt, ret);
    mlx5rDerefOdpMkey(mr);
    return ret;
  },
};
