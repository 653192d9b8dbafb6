/**
 * ibv_advise_mr: prefetching the pages of ODP MRs into the device's page table before
 * traffic needs them.
 *
 * Models mlx5_ib_advise_mr / mlx5_ib_advise_mr_prefetch / mlx5_ib_prefetch_sg_list /
 * mlx5_ib_prefetch_mr_work (drivers/infiniband/hw/mlx5/odp.c) and the prefetch part of
 * dereg_mr (mr.c) in the SRCU era, after "RDMA/mlx5: Use SRCU properly in ODP prefetch"
 * and "RDMA/mlx5: Order num_pending_prefetch properly with synchronize_srcu" (v5.4/5.5):
 *
 *   advise (async)                           dereg_mr
 *   srcu_read_lock(mr_srcu)                  live = 0
 *   mr = lookup(lkey); live? pd? writable?   synchronize_srcu(mr_srcu)
 *   num_pending_prefetch++                   if (num_pending_prefetch)
 *   queue_work(system_unbound_wq)                flush_workqueue(system_unbound_wq)
 *   srcu_read_unlock                         ... destroy, free
 *
 * The work holds the MR pointers; the count keeps dereg from freeing the MR under it,
 * and SRCU makes the count visible to dereg's check. A design whose kernel holds the MR
 * by reference instead (the interval design: get_prefetchable_mr takes mmkey.usecount,
 * v5.13+, and dereg waits for it) says so with `prefetchHold`, and its fault handler then
 * faults the held MR with no second lookup (pagefault_mr, intervalOdp.ts). With FLUSH the
 * prefetch runs in the caller, under SRCU, and its errors are returned.
 *
 * What an advise gets when an SGE's MR cannot be prefetched is the era of the design's own
 * kernel (setPrefetchErrnos, put by each design's kernelSetup), though the SRCU-era lookup
 * above has v5.4's shape:
 *
 *   - "v5.3" (the classic design's v5.3 and the hmm-mirror posting's v5.2, whose odp.c is
 *     the same here). A synchronous prefetch is mlx5_ib_prefetch_sg_list() calling
 *     pagefault_single_data_segment(MLX5_PF_FLAGS_PREFETCH) for each SGE: a key it does
 *     not find ("failed to find mkey") or an MR not live ("got dead MR") is -EFAULT;
 *     another PD's MR or a non-ODP one -EINVAL, and pagefault_mr() refuses a PREFETCH_WRITE
 *     of a read-only MR with -EINVAL. An asynchronous one first counts each SGE's MR
 *     (num_pending_prefetch_inc(): a key not found, another PD's MR, one not live: the
 *     whole advise is -EINVAL); a non-ODP MR or a PREFETCH_WRITE of a read-only MR passes
 *     that, the advise returns 0, and the queued work's fault of that SGE fails with
 *     -EINVAL, which nobody sees, and ends the work's loop there. Simplification: the
 *     model queues no work from that SGE on (the kernel counted those MRs in
 *     num_pending_prefetch until its work ended; they are never faulted either way).
 *   - "v5.16" (the interval design's v6.14), since "IB/mlx5: Flow through a more
 *     detailed return code from get_prefetchable_mr()" (49b99314b49e, v5.16): the key is
 *     looked up in dev->odp_mkeys, which holds only registered ODP MRs, so no such key, a
 *     pinned MR, an implicit child or an MR dereg has taken out is -ENOENT (-EINVAL is
 *     for a key of another mkey type, a memory window, which odpsim does not model);
 *     another PD's MR, or PREFETCH_WRITE of a read-only MR, -EPERM; the same for both
 *     forms of advise.
 *
 * In between, v5.4's first get_prefetchable_mr() ("RDMA/mlx5: Use SRCU properly in ODP
 * prefetch") gave -ENOENT (FLUSH) or -EINVAL (queued) for every refusal; no design runs
 * that era. Flags other than FLUSH are -EINVAL (uverbs), an unknown advice -EOPNOTSUPP
 * (mlx5_ib_advise_mr). PREFETCH_NO_FAULT came with v5.10; the model accepts it under
 * every design.
 *
 * PREFETCH maps read-only (MLX5_PF_FLAGS_DOWNGRADE), PREFETCH_WRITE writable,
 * PREFETCH_NO_FAULT (MLX5_PF_FLAGS_SNAPSHOT) only the pages the CPU maps now: the
 * snapshot is read from the page table in one step, and only the present runs are
 * handed to the fault handler (the kernel asks hmm_range_fault not to fault instead).
 */
import { EFAULT, EINVAL, ENOENT, EOPNOTSUPP, EPERM } from "../../sim/errno.ts";
import { KernelGlobal, type Kernel } from "../../sim/kernel.ts";
import { accessFields, countFields, objectId } from "../../sim/objectAccess.ts";
import { WorkStruct, Workqueue } from "../../sim/sync/workqueue.ts";
import type { KGen } from "../../sim/task.ts";
import { PAGE_SIZE } from "../../mm/page.ts";
import { walkPte } from "../../mm/pageTable.ts";
import type { IbSge } from "../core/ibDevice.ts";
import type { IbPd } from "../core/ibPd.ts";
import { IB_UVERBS_ADVISE_MR_FLAG_FLUSH, type IbAdviseMrAdvice } from "../core/ibVerbs.ts";
import type { Mlx5IbDev } from "./mlx5IbDev.ts";
import type { Mlx5IbMr } from "./mlx5IbMr.ts";
import type { Mlx5OdpDesign, PagefaultFlags } from "./odp/mlx5OdpDesign.ts";
import { traceLive } from "./odp/srcuEraMr.ts";

const ADVICES: readonly string[] = ["PREFETCH", "PREFETCH_WRITE", "PREFETCH_NO_FAULT"];

/** The errnos of an advise whose SGE cannot be prefetched, by kernel era (above). */
export type PrefetchErrnos = "v5.3" | "v5.16";

const PREFETCH_ERRNOS = new KernelGlobal<{ form: PrefetchErrnos }>(
  "drivers/infiniband/hw/mlx5/odp.c (advise_mr errors)",
  () => ({ form: "v5.16" }),
);

/** Puts `k` in the era whose advise errors are `form`. */
export function setPrefetchErrnos(k: Kernel, form: PrefetchErrnos): void {
  k.global(PREFETCH_ERRNOS).form = form;
}

/** The era of `k`'s advise errors (v5.16 unless a design's kernelSetup said otherwise). */
export function prefetchErrnos(k: Kernel): PrefetchErrnos {
  return k.global(PREFETCH_ERRNOS).form;
}

/**
 * What the v5.3 form's queued work does with an SGE that num_pending_prefetch_inc()
 * accepted but the work's fault refuses (a non-ODP MR, PREFETCH_WRITE of a read-only
 * one): the advise succeeds and nothing is prefetched from that SGE on.
 */
const FAILS_IN_WORK = "fails in work";

/** Worker count of the model's system_unbound_wq. */
const UNBOUND_WORKERS = 2;

interface PrefetchFrag {
  readonly mr: Mlx5IbMr;
  readonly ioVirt: number;
  readonly length: number;
}

/** The prefetch state of one device (kept with the driver's ops). */
export class Mlx5Prefetch {
  private wq: Workqueue | null = null;
  /** Prefetch work queued or running: what flush_workqueue waits for. */
  private readonly inFlight = new Set<WorkStruct>();

  constructor(
    readonly dev: Mlx5IbDev,
    readonly design: Mlx5OdpDesign,
  ) {}

  /** system_unbound_wq, started on first use so runs without prefetch keep their tasks. */
  private systemUnboundWq(): Workqueue {
    this.wq ??= new Workqueue(this.dev.k, "system_unbound_wq", { workers: UNBOUND_WORKERS });
    return this.wq;
  }

  /** mlx5_ib_advise_mr(). */
  *adviseMr(
    pd: IbPd,
    advice: IbAdviseMrAdvice,
    flags: number,
    sgList: readonly IbSge[],
  ): KGen<number> {
    yield "advise_mr";
    if ((flags & ~IB_UVERBS_ADVISE_MR_FLAG_FLUSH) !== 0 || sgList.length === 0) return EINVAL;
    if (!ADVICES.includes(advice)) return EOPNOTSUPP;
    const pf = pfFlags(advice);
    if ((flags & IB_UVERBS_ADVISE_MR_FLAG_FLUSH) !== 0) {
      return yield* this.prefetchSgList(pd, advice, pf, sgList);
    }
    return yield* this.queuePrefetch(pd, advice, pf, sgList);
  }

  /**
   * get_prefetchable_mr(): the MR behind `lkey` if it may be prefetched, or the errno of
   * the era (above) for a synchronous (`sync`) or queued advise; in the v5.3 form a
   * queued advise may also be accepted for an SGE its work will fail (FAILS_IN_WORK).
   */
  private getPrefetchableMr(
    pd: IbPd,
    advice: IbAdviseMrAdvice,
    lkey: number,
    sync: boolean,
  ): Mlx5IbMr | number | typeof FAILS_IN_WORK {
    const mr = this.dev.mrs.get(lkey);
    if (mr !== undefined) traceLive(mr, "get_prefetchable_mr", false);
    const readOnlyWrite = advice === "PREFETCH_WRITE" && mr?.umem?.writable === false;
    if (prefetchErrnos(this.dev.k) === "v5.3") {
      if (mr === undefined || !mr.live) return sync ? EFAULT : EINVAL;
      if (mr.pd !== pd) return EINVAL;
      if (mr.umem === null || readOnlyWrite) return sync ? EINVAL : FAILS_IN_WORK;
      return mr;
    }
    // Not in odp_mkeys: no such key, a pinned MR, an implicit child, or one being
    // destroyed (the hold's own test, in the same step, catches an erased key).
    if (mr === undefined || !mr.live || mr.umem === null || mr.parent !== null) return ENOENT;
    if (mr.pd !== pd) return EPERM;
    if (readOnlyWrite) return EPERM;
    return mr;
  }

  /** mlx5_ib_prefetch_sg_list(): the synchronous (FLUSH) prefetch. */
  private *prefetchSgList(
    pd: IbPd,
    advice: IbAdviseMrAdvice,
    pf: PagefaultFlags,
    sgList: readonly IbSge[],
  ): KGen<number> {
    const srcu = this.dev.mrSrcu;
    const idx = srcu.readLock();
    let ret = 0;
    for (const sge of sgList) {
      const mr = this.getPrefetchableMr(pd, advice, sge.lkey, true);
      if (typeof mr !== "object") {
        ret = typeof mr === "number" ? mr : EINVAL;
        break;
      }
      const hold = this.design.prefetchHold;
      if (hold !== undefined && !hold.get(mr)) {
        ret = ENOENT;
        break;
      }
      ret = yield* this.pagefaultFrag(pd, { mr, ioVirt: sge.addr, length: sge.length }, pf);
      hold?.put(mr);
      if (ret < 0) break;
    }
    srcu.readUnlock(idx);
    return ret < 0 ? ret : 0;
  }

  /** The asynchronous prefetch: take the MRs, count them, queue the work. */
  private *queuePrefetch(
    pd: IbPd,
    advice: IbAdviseMrAdvice,
    pf: PagefaultFlags,
    sgList: readonly IbSge[],
  ): KGen<number> {
    const k = this.dev.k;
    const srcu = this.dev.mrSrcu;
    // SRCU around the lookup and the count was there from "IB/mlx5: Protect against
    // prefetch of invalid MR" (v5.1) on; what was out of order was dereg's reading of the
    // count (catalog #16, srcuEraMr.ts).
    const idx = srcu.readLock();
    const frags: PrefetchFrag[] = [];
    let ret = 0;
    // v5.3: the work's fault fails at this SGE and its loop ends there.
    let workStops = false;
    for (const sge of sgList) {
      const mr = this.getPrefetchableMr(pd, advice, sge.lkey, false);
      if (typeof mr === "number") {
        ret = mr;
        break;
      }
      if (mr === FAILS_IN_WORK) workStops = true;
      if (mr === FAILS_IN_WORK || workStops) continue;
      const hold = this.design.prefetchHold;
      if (hold !== undefined) {
        // The modern kernel takes its reference in the lookup's step (under xa_lock).
        if (!hold.get(mr)) {
          ret = ENOENT;
          break;
        }
      } else {
        yield "get_prefetchable_mr";
        // Keep the MR pointer valid outside SRCU: dereg flushes the work while this is > 0.
        if (!k.kasan.check(mr, "advise_mr counts a pending prefetch on the mr")) {
          ret = ENOENT;
          break;
        }
        mr.numPendingPrefetch++;
        tracePending(mr, "mlx5_ib_prefetch_mr", 1);
      }
      frags.push({ mr, ioVirt: sge.addr, length: sge.length });
    }
    if (ret < 0) {
      this.destroyPrefetchWork(frags);
    } else {
      this.queueWork(pd, frags, pf);
    }
    srcu.readUnlock(idx);
    return ret;
  }

  private queueWork(pd: IbPd, frags: readonly PrefetchFrag[], pf: PagefaultFlags): void {
    const inFlight = this.inFlight;
    const work: WorkStruct = new WorkStruct("mlx5_ib_prefetch_mr_work", () =>
      this.prefetchMrWork(pd, frags, pf, work),
    );
    inFlight.add(work);
    tracePrefetchWork(this.dev.k, "queue_work(mlx5_ib_prefetch_mr_work)", frags, true);
    this.systemUnboundWq().queueWork(work);
  }

  /** mlx5_ib_prefetch_mr_work(): fault each fragment under SRCU, then drop the counts. */
  private *prefetchMrWork(
    pd: IbPd,
    frags: readonly PrefetchFrag[],
    pf: PagefaultFlags,
    work: WorkStruct,
  ): KGen {
    const k = this.dev.k;
    const idx = this.dev.mrSrcu.readLock();
    tracePrefetchWork(k, "mlx5_ib_prefetch_mr_work", frags, false);
    for (const frag of frags) {
      if (!k.kasan.check(frag.mr, "prefetch work uses the mr")) continue;
      yield* this.pagefaultFrag(pd, frag, pf);
    }
    this.dev.mrSrcu.readUnlock(idx);
    yield "destroy_prefetch_work";
    this.destroyPrefetchWork(frags);
    this.inFlight.delete(work);
  }

  /** destroy_prefetch_work(): drop the hold each fragment has on its MR. */
  private destroyPrefetchWork(frags: readonly PrefetchFrag[]): void {
    const k = this.dev.k;
    const hold = this.design.prefetchHold;
    for (const frag of frags) {
      if (!k.kasan.check(frag.mr, "destroy_prefetch_work drops its hold on the mr")) continue;
      if (hold !== undefined) {
        hold.put(frag.mr);
      } else {
        frag.mr.numPendingPrefetch--;
        tracePending(frag.mr, "destroy_prefetch_work", -1);
      }
    }
  }

  /** pagefault_mr() on one fragment; a snapshot maps only what the CPU maps now. */
  private *pagefaultFrag(pd: IbPd, frag: PrefetchFrag, pf: PagefaultFlags): KGen<number> {
    const runs = pf.snapshot === true ? presentRuns(frag) : [[frag.ioVirt, frag.length]];
    let ret = 0;
    for (const [va, len] of runs as [number, number][]) {
      ret = yield* this.design.pagefaultSingleDataSegment(this.dev, pd, frag.mr.lkey, va, len, pf);
      if (ret < 0) return ret;
    }
    return ret;
  }

  /**
   * dereg_mr's part, after live = 0 and synchronize_srcu: if prefetch work holds the MR,
   * wait for the work queued so far (flush_workqueue); then WARN_ON a count still held.
   * The two reads of the count are separate loads: an advise that counts between them
   * (possible only while dereg reads before its grace period, catalog #16) trips the
   * WARN_ON, as in the race diagram of aa116b810ac9.
   */
  *flushMr(mr: Mlx5IbMr): KGen {
    tracePending(mr, "mlx5_ib_dereg_mr", 0);
    if (mr.numPendingPrefetch !== 0) {
      for (const work of [...this.inFlight]) yield* this.systemUnboundWq().flushWork(work);
    } else {
      yield "num_pending_prefetch read";
    }
    tracePending(mr, "mlx5_ib_dereg_mr", 0);
    this.dev.k.warnOn(mr.numPendingPrefetch !== 0, "prefetch work still holds a dying MR", {
      mr: mr.objName,
      pending: mr.numPendingPrefetch,
      objects: [pendingId(mr)],
    });
  }
}

/**
 * A prefetch work queued with its MRs (`write`), or starting on them, for the trace: the
 * work item links the advise that queued it to the kworker that runs it.
 */
function tracePrefetchWork(
  k: Mlx5IbDev["k"],
  fn: string,
  frags: readonly PrefetchFrag[],
  write: boolean,
): void {
  if (k.trace === null) return;
  const mrs = frags.map((f) => objectId(f.mr.objName));
  const work = mrs.map((mr) => `prefetch_work:${mr}`);
  const access = write ? accessFields(mrs, work) : accessFields([...work, ...mrs]);
  k.event(fn, { mrs: frags.map((f) => f.mr.objName).join(", "), ...access });
}

/** The trace's id of mr->num_pending_prefetch. */
function pendingId(mr: Mlx5IbMr): string {
  return `${objectId(mr.objName)}.num_pending_prefetch`;
}

/** num_pending_prefetch taken (1), dropped (-1) or read (0) under `fn`, for the trace. */
function tracePending(mr: Mlx5IbMr, fn: string, delta: 1 | -1 | 0): void {
  const k = mr.dev.k;
  if (k.trace === null) return;
  const access = delta === 0 ? accessFields([pendingId(mr)]) : countFields(pendingId(mr), delta);
  k.event(fn, { mr: mr.objName, num_pending_prefetch: mr.numPendingPrefetch, ...access });
}

function pfFlags(advice: IbAdviseMrAdvice): PagefaultFlags {
  return {
    write: advice === "PREFETCH_WRITE",
    prefetch: true,
    downgrade: advice === "PREFETCH",
    snapshot: advice === "PREFETCH_NO_FAULT",
  };
}

/** The runs of [ioVirt, ioVirt + length) whose pages the CPU maps now. */
function presentRuns(frag: PrefetchFrag): [number, number][] {
  const umem = frag.mr.umem;
  if (umem === null) return [];
  const runs: [number, number][] = [];
  const end = frag.ioVirt + frag.length;
  let va = frag.ioVirt;
  while (va < end) {
    const next = Math.min(end, (Math.floor(va / PAGE_SIZE) + 1) * PAGE_SIZE);
    const pte = walkPte(umem.owningMm, va);
    if (pte !== null && !pte.pte.protnone) {
      const last = runs[runs.length - 1];
      if (last !== undefined && last[0] + last[1] === va) last[1] += next - va;
      else runs.push([va, next - va]);
    }
    va = next;
  }
  return runs;
}

/** The prefetch state of an mlx5 device (kept with the driver's ops), or null. */
export function mlx5PrefetchOf(dev: Mlx5IbDev): Mlx5Prefetch | null {
  const ops = dev.ops as { readonly mlx5Prefetch?: Mlx5Prefetch } | null;
  return ops?.mlx5Prefetch ?? null;
}

/** dereg_mr's prefetch flush, for the design modules' destroy paths. */
export function* mlx5PrefetchFlushMr(mr: Mlx5IbMr): KGen {
  const prefetch = mlx5PrefetchOf(mr.dev);
  if (prefetch !== null) yield* prefetch.flushMr(mr);
}
