/**
 * The MR lifecycle of the SRCU era of mlx5 ODP (v3.19 – v5.3), shared by the classic
 * and hmm-mirror designs: registration that publishes the MR to invalidations last,
 * destruction in seed 001's order, and the fault entry point that finds an MR by key
 * under mr_srcu.
 *
 * Models mlx5_ib_reg_user_mr / dereg_mr / clean_mr / destroy_mkey (drivers/infiniband/
 * hw/mlx5/mr.c) and pagefault_single_data_segment (odp.c) of that era:
 *
 *     dereg:  live = 0                       stop new faults finding the MR
 *             synchronize_srcu(mr_srcu)      wait for fault handlers that did
 *             flush prefetch work if counted  then WARN_ON the count (prefetch.ts)
 *             invalidate_range(whole umem)   zap the MTT, unmap the pages (an implicit
 *                                            parent: free its children, wait for them)
 *             ib_umem_release                leave the notifier tree
 *             destroy_mkey; synchronize_srcu; free the MR
 */
import { EFAULT, EINVAL, EOPNOTSUPP } from "../../../sim/errno.ts";
import { IMPLICIT_ODP_LENGTH } from "../../core/ibVerbs.ts";
import type { KGen } from "../../../sim/task.ts";
import type { IbPd } from "../../core/ibPd.ts";
import type { UmemOdpDesign } from "../../core/odp/umemOdpDesign.ts";
import { ibUmemEnd, ibUmemStart, type IbUmemOdp } from "../../core/umemOdp.ts";
import { accessFields, guardId, objectId } from "../../../sim/objectAccess.ts";
import { Mlx5Mkey, mkeyId } from "../mkey.ts";
import type { Mlx5IbDev } from "../mlx5IbDev.ts";
import { Mlx5IbMr } from "../mlx5IbMr.ts";
import { mlx5MkeyDisable } from "../mttMirror.ts";
import { mlx5PrefetchFlushMr } from "../prefetch.ts";
import { designMrByKey, type PagefaultFlags } from "./mlx5OdpDesign.ts";
import { mkeyMrPageCount, type BytesMapped } from "./pageCount.ts";
import { StoreBuffer } from "../../../sim/storeBuffer.ts";

/** Catalog #25: mr->live set before the MR's setup is complete, as a plain store (v5.3). */
export const ODP_LIVE_BEFORE_SETUP = "odp-live-before-setup";

/** Catalog #16: dereg_mr reads num_pending_prefetch before synchronize_srcu (v5.1 - v5.3). */
export const PREFETCH_COUNT_BEFORE_SRCU_SYNC = "prefetch-count-before-srcu-sync";

/** The design's pagefault_mr. */
export type PagefaultMr<U extends IbUmemOdp> = (
  mr: Mlx5IbMr<U>,
  va: number,
  bcnt: number,
  flags: PagefaultFlags,
  bytesMapped: BytesMapped | null,
) => KGen<number>;

/** A design's implicit MRs of this era: the KSM parent made and torn down. */
export interface SrcuEraImplicit<U extends IbUmemOdp> {
  /** mlx5_ib_alloc_implicit_mr(). */
  allocImplicitMr(dev: Mlx5IbDev, pd: IbPd, access: number): KGen<Mlx5IbMr<U> | number>;
  /** mlx5_ib_free_implicit_mr(): free every child; dereg's step in place of the zap. */
  freeImplicitMr(imr: Mlx5IbMr<U>): KGen;
}

/**
 * mlx5_ib_reg_user_mr() for an ODP MR: implicit (addr 0, length SIZE_MAX) through the
 * design's `implicit`, else explicit. A design without `implicit` refuses implicit MRs.
 */
export function* regOdpMrSrcuEra<U extends IbUmemOdp>(
  core: UmemOdpDesign<U>,
  dev: Mlx5IbDev,
  pd: IbPd,
  start: number,
  length: number,
  access: number,
  implicit?: SrcuEraImplicit<U>,
): KGen<Mlx5IbMr<U> | number> {
  if (start === 0 && length === IMPLICIT_ODP_LENGTH) {
    // Every design of this era passes its hooks (classicImplicit.ts, hmmMirrorImplicit.ts).
    if (implicit === undefined) return EOPNOTSUPP;
    return yield* implicit.allocImplicitMr(dev, pd, access);
  }
  const umem = yield* core.get(pd.uctx, start, length, access, {});
  if (typeof umem === "number") return umem;
  const mkey = new Mlx5Mkey(
    dev.allocKey(),
    "mtt",
    pd.pdn,
    umem.address,
    umem.length,
    umem.pageShift,
  );
  const mr = new Mlx5IbMr(dev.k, { dev, pd, mkey, access, umem });
  dev.mkeys.set(mkey.key, mkey);
  dev.mrs.set(mkey.key, mr);
  yield* publishOdpMr(mr, umem);
  return mr;
}

/**
 * The end of mlx5_ib_reg_user_mr() for an ODP MR, whose mkey fault handlers and advise
 * can already find: the stores that make it usable, through the CPU's store buffer
 * (storeBuffer.ts), so another CPU may see them late and, where no barrier orders them,
 * in either order. The uobject commit's locking that follows is the full barrier that
 * drains them.
 *
 *   fixed (v5.4-rc2 on)                     catalog defect odp-live-before-setup (v5.3)
 *   umem->private = mr                      smp_wmb(); umem->private = mr; smp_wmb()
 *   atomic_set(num_pending_prefetch, 0)     mr->live = 1
 *   smp_store_release(&mr->live, 1)         atomic_set(num_pending_prefetch, 0)
 */
function* publishOdpMr<U extends IbUmemOdp>(mr: Mlx5IbMr<U>, umem: U): KGen {
  const k = mr.dev.k;
  const sb = new StoreBuffer(k, `reg_mr(${mr.objName})`);
  const setPrivate = (): void => {
    umem.driverPrivate = mr;
  };
  const setLive = (): void => {
    mr.live = true;
    traceLive(mr, "mlx5_ib_reg_user_mr", true);
  };
  const zeroPending = (): void => {
    mr.numPendingPrefetch = 0;
  };
  if (k.hasDefect(ODP_LIVE_BEFORE_SETUP)) {
    // update_odp_mr(): seed 001's barriers around umem->private, then live and the count
    // as plain stores, live first: "RDMA/mlx5: Put live in the correct place for ODP MRs".
    sb.smpWmb();
    sb.store("umem->private", setPrivate);
    sb.smpWmb();
    sb.store("mr->live = 1", setLive);
    sb.store("num_pending_prefetch = 0", zeroPending);
  } else {
    sb.store("umem->private", setPrivate);
    sb.store("num_pending_prefetch = 0", zeroPending);
    sb.storeRelease("mr->live = 1", setLive);
  }
  yield* sb.drain();
}

/**
 * dereg_mr() of an ODP MR, in seed 001's order; an implicit parent frees its children
 * (waiting for them) where an explicit MR zaps and unmaps its range.
 */
export function* deregOdpMrSrcuEra<U extends IbUmemOdp>(
  mr: Mlx5IbMr<U>,
  core: UmemOdpDesign<U>,
  invalidate: (umem: U, start: number, end: number) => KGen,
  implicit?: SrcuEraImplicit<U>,
): KGen<number> {
  const dev = mr.dev;
  const k = dev.k;
  const umem = mr.umem;
  if (umem === null) return EINVAL;
  // Prevent new page faults from succeeding.
  mr.live = false;
  traceLive(mr, "mlx5_ib_dereg_mr", true);
  yield "mr dead";
  // Catalog defect prefetch-count-before-srcu-sync: before aa116b810ac9 ("RDMA/mlx5:
  // Order num_pending_prefetch properly with synchronize_srcu", v5.4-rc2) dereg read the
  // prefetch count before the grace period, so an advise inside its SRCU section that
  // saw live = 1 could still count and queue work after the read.
  const countFirst = k.hasDefect(PREFETCH_COUNT_BEFORE_SRCU_SYNC);
  if (countFirst) yield* mlx5PrefetchFlushMr(mr);
  // Catalog defect classic-no-srcu-sync drops this wait (dereg_mr's own, from 6aec21f6a832;
  // seed 001 added the later one in destroy_mkey): a fault handler that found the MR
  // before `live` went false then uses it after it is freed.
  if (!k.hasDefect("classic-no-srcu-sync")) yield* dev.mrSrcu.synchronize();
  // Dequeue pending prefetch work holding the MR (prefetch.ts).
  if (!countFirst) yield* mlx5PrefetchFlushMr(mr);
  if (!umem.isImplicitOdp) yield* invalidate(umem, ibUmemStart(umem), ibUmemEnd(umem));
  else if (implicit !== undefined) yield* implicit.freeImplicitMr(mr);
  if (k.hasDefect("classic-mr-before-umem")) {
    // The order seed 001's error path warns against: the MR dies while its umem is
    // still in the notifier tree, so an invalidation in flight finds the freed MR
    // through umem->private.
    destroyMkey(mr);
    k.kasan.free(mr);
    yield "mr freed";
    yield* core.release(umem);
    return 0;
  }
  yield* core.release(umem);
  destroyMkey(mr);
  yield* dev.mrSrcu.synchronize();
  k.kasan.free(mr);
  return 0;
}

/**
 * pagefault_single_data_segment(): find the MR by key under mr_srcu, then fault. A key
 * not found ("failed to find mkey") or an MR not live ("got dead MR") is -EFAULT; a
 * pinned MR counts as faulted in whole (0), except to a prefetch (MLX5_PF_FLAGS_PREFETCH),
 * which it and another PD's MR refuse with -EINVAL (v5.2 and v5.3 alike).
 */
export function* pagefaultSingleDataSegmentSrcuEra<U extends IbUmemOdp>(
  dev: Mlx5IbDev,
  pd: IbPd | null,
  key: number,
  va: number,
  bcnt: number,
  flags: PagefaultFlags,
  pagefaultMr: PagefaultMr<U>,
  bytesMapped: BytesMapped | null,
): KGen<number> {
  const k = dev.k;
  const idx = dev.mrSrcu.readLock();
  let ret: number;
  const mr = designMrByKey<U>(dev, key);
  if (k.trace !== null) {
    const reads = [mkeyId(key), ...(mr === undefined ? [] : [objectId(mr.objName)])];
    const found = mr === undefined ? "none" : `${mr.objName} (live ${mr.live ? 1 : 0})`;
    k.event("pagefault_single_data_segment", { mkey: key, mr: found, ...accessFields(reads) });
  }
  yield "mkey lookup";
  // Catalog defect classic-no-live-check: before seed 001 the lookup did not test
  // mr->live, so a fault could start on an MR whose destruction had begun.
  const dead = mr !== undefined && !mr.live && !k.hasDefect("classic-no-live-check");
  if (mr === undefined || !k.kasan.check(mr, "pagefault finds mr by key") || dead) {
    ret = EFAULT;
  } else if (flags.prefetch === true && (mr.umem === null || (pd !== null && mr.pd !== pd))) {
    // "Invalid prefetch request": MR is not ODP, or PD is not of the MR.
    ret = EINVAL;
  } else if (mr.umem === null) {
    // "skipping non ODP MR": a pinned MR in a WQE's list counts as fully mapped.
    if (bytesMapped !== null) bytesMapped.value += bcnt;
    ret = 0;
  } else {
    ret = yield* pagefaultMr(mr, va, bcnt, flags, bytesMapped);
    // The fixed kernel's prefetch calls pagefault_mr itself, past the page-count check.
    if (flags.prefetch !== true) ret = mkeyMrPageCount(k, va, bcnt, ret);
  }
  dev.mrSrcu.readUnlock(idx);
  return ret;
}

/** destroy_mkey(): the device stops translating the key. */
export function destroyMkey(mr: Mlx5IbMr): void {
  mlx5MkeyDisable(mr);
  mr.dev.mkeys.delete(mr.mmkey.key);
  mr.dev.mrs.delete(mr.mmkey.key);
  mr.dev.k.event("destroy_mkey", {
    mkey: mr.mmkey.key,
    ...accessFields([], [mkeyId(mr.mmkey.key)]),
  });
}

/** mr->live as the trace shows it: written by dereg, read by a fault. */
export function traceLive(mr: Mlx5IbMr, fn: string, write: boolean): void {
  const k = mr.dev.k;
  if (k.trace === null) return;
  const id = [guardId(`${objectId(mr.objName)}.live`)];
  k.event(fn, {
    "mr->live": mr.live ? 1 : 0,
    ...(write ? accessFields([], id) : accessFields(id)),
  });
}
