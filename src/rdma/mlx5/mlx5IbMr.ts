/**
 * The driver's memory region.
 *
 * Models struct mlx5_ib_mr (drivers/infiniband/hw/mlx5/mlx5_ib.h) for the fields ODP
 * uses: the mkey, the umem, `live` (seed 001: cleared first at destroy so new faults
 * fail to find the MR), the implicit parent / children, the count of prefetch work in
 * flight, and the classic design's count of children being freed (num_leaf_free); for
 * the interval design (v5.13+) struct mlx5_ib_mkey's usecount with its wait queue,
 * whether the key is in dev->odp_mkeys, and the odp_destroy work.
 */
import type { Kernel } from "../../sim/kernel.ts";
import { accessFields, countFields, objectId } from "../../sim/objectAccess.ts";
import { WaitQueueHead } from "../../sim/sync/waitQueue.ts";
import type { WorkStruct } from "../../sim/sync/workqueue.ts";
import { IbMr } from "../core/ibMr.ts";
import type { IbPd } from "../core/ibPd.ts";
import type { IbUmem } from "../core/umem.ts";
import type { IbUmemOdp } from "../core/umemOdp.ts";
import { mkeyId, type Mlx5Mkey } from "./mkey.ts";
import type { Mlx5IbDev } from "./mlx5IbDev.ts";

export interface Mlx5MrInit<U extends IbUmemOdp = IbUmemOdp> {
  readonly dev: Mlx5IbDev;
  readonly pd: IbPd;
  readonly mkey: Mlx5Mkey;
  readonly access: number;
  readonly umem: U | null;
  readonly parent?: Mlx5IbMr<U>;
}

/** `U`: the umem type of the ODP design that made the MR (Mlx5OdpDesign<U>). */
export class Mlx5IbMr<U extends IbUmemOdp = IbUmemOdp> extends IbMr {
  readonly dev: Mlx5IbDev;
  readonly mmkey: Mlx5Mkey;
  readonly umem: U | null;
  /** Pinned (non-ODP) MRs: the umem pinned at registration (mr->umem of a real MR). */
  pinnedUmem: IbUmem | null = null;
  /** mr->live: page faults may use the MR. */
  live = false;
  /**
   * The implicit parent of a child MR. The classic design clears it when the child
   * starts dying (mr_leaf_free_action), hiding the child from fault handlers.
   */
  parent: Mlx5IbMr<U> | null;
  /** Implicit children by slot index (the modern design's xarray). */
  readonly children = new Map<number, Mlx5IbMr<U>>();
  /** Prefetch work items still running against this MR. */
  numPendingPrefetch = 0;
  /** mmkey.usecount: users that found the MR (fault handlers, work); 0 = unpublished. */
  usecount = 0;
  /** mmkey.wait: woken when usecount drops to zero. */
  readonly usecountWait: WaitQueueHead;
  /** Present in dev->odp_mkeys, where page faults look keys up. */
  inOdpMkeys = false;
  /** mr->odp_destroy.work: the deferred destruction of an implicit child. */
  odpDestroyWork: WorkStruct | null = null;
  /** imr->num_leaf_free (classic): children of this parent queued for freeing. */
  numLeafFree = 0;
  /** imr->q_leaf_free (classic): woken when numLeafFree drops to zero. */
  qLeafFree: WaitQueueHead | null = null;

  constructor(k: Kernel, init: Mlx5MrInit<U>) {
    super(
      k,
      "mlx5_ib_mr",
      init.pd,
      init.mkey.key,
      init.mkey.key,
      init.mkey.iova,
      init.mkey.length,
      init.access,
    );
    this.dev = init.dev;
    this.mmkey = init.mkey;
    this.umem = init.umem;
    this.parent = init.parent ?? null;
    this.usecountWait = new WaitQueueHead(k, `mmkey_wait(${this.objName})`);
  }
}

/**
 * `x instanceof Mlx5IbMr` without the `any` that narrowing a generic class by instanceof
 * gives its type argument: an MR of some design.
 */
export function isMlx5IbMr(x: unknown): x is Mlx5IbMr {
  return x instanceof Mlx5IbMr;
}

/**
 * mmkey.usecount as the trace shows it under `fn`: written (taken, dropped), or read
 * (a wait for it to drop to zero, `delta` 0). A count of the mkey (`mkey:322.usecount`), as the
 * kernel keeps it in struct mlx5_ib_mkey.
 */
export function traceUsecount(mr: Mlx5IbMr, fn: string, delta: 1 | -1 | 0): void {
  const k = mr.dev.k;
  if (k.trace === null) return;
  const id = `${mkeyId(mr.mmkey.key)}.usecount`;
  const access = delta === 0 ? accessFields([id]) : countFields(id, delta);
  k.event(fn, { mr: mr.objName, usecount: mr.usecount, ...access });
}

/** The trace's object id of slot `idx` of an implicit parent's children table. */
export function childSlotId(imr: Mlx5IbMr, idx: number): string {
  return `${objectId(imr.objName)}.children[${idx}]`;
}
