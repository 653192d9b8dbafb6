/**
 * The mlx5 core's table of QP resources: how an event that carries only a QP number
 * (a WQE page fault, an affiliated async event) gets to the QP, and how destroying a QP
 * waits for every such user.
 *
 * Models struct mlx5_qp_table and create_resource_common / destroy_resource_common /
 * mlx5_get_rsc / mlx5_core_put_rsc / mlx5_core_res_hold / mlx5_core_res_put /
 * mlx5_rsc_event of drivers/net/ethernet/mellanox/mlx5/core/qp.c (v4.20 - v5.3): a radix
 * tree of resources under the spinlock `table->lock`, each resource with a refcount
 * whose last put completes `free`. The async EQ's interrupt handler (mlx5_eq_int, hard
 * IRQ context) looks resources up under the same lock, so every other holder must keep
 * hard IRQs off (spin_lock_irq / spin_lock_irqsave).
 *
 *     create:  lock_irq; insert; refcount = 1
 *     user:    lock; ref++ (hold) ... ref-- (put), the last put completes free
 *     destroy: lock_irqsave; delete; unlock; put; wait_for_completion(free)
 *
 * The page-fault worker's hold is catalog defect qp-table-lock-irq-unsafe's spot: it
 * first took the lock with a plain spin_lock ("net/mlx5: Take lock with IRQs disabled to
 * avoid deadlock"). Simplification: one table per device for QPs only (no SRQs, DCTs).
 */
import type { Kernel } from "../../../sim/kernel.ts";
import type { KObject } from "../../../sim/kasan.ts";
import { Completion } from "../../../sim/sync/completion.ts";
import { Spinlock } from "../../../sim/sync/spinlock.ts";
import type { KGen } from "../../../sim/task.ts";
import type { Mlx5IbDev } from "../mlx5IbDev.ts";

/** Catalog defect: the page-fault worker takes table->lock with IRQs on (v4.20). */
export const QP_TABLE_LOCK_IRQ_UNSAFE = "qp-table-lock-irq-unsafe";

/** struct mlx5_core_rsc_common of a QP. */
export interface Mlx5CoreRsc {
  readonly qpn: number;
  /** The mlx5_ib_qp it is embedded in (container_of). */
  readonly qp: KObject;
  refcount: number;
  readonly free: Completion;
}

/** struct mlx5_qp_table. */
export class Mlx5QpTable {
  readonly lock: Spinlock;
  readonly tree = new Map<number, Mlx5CoreRsc>();

  constructor(
    readonly k: Kernel,
    devName: string,
  ) {
    this.lock = new Spinlock(k, `qp_table(${devName}).lock`, "qp_table->lock");
  }
}

const TABLES = new WeakMap<Mlx5IbDev, Mlx5QpTable>();

/** dev->priv.qp_table. */
export function mlx5QpTable(dev: Mlx5IbDev): Mlx5QpTable {
  let table = TABLES.get(dev);
  if (table === undefined) {
    table = new Mlx5QpTable(dev.k, dev.name);
    TABLES.set(dev, table);
  }
  return table;
}

/** create_resource_common(): the QP becomes findable by number, with one reference. */
export function* createResourceCommon(
  table: Mlx5QpTable,
  qpn: number,
  qp: KObject,
): KGen<Mlx5CoreRsc> {
  const rsc: Mlx5CoreRsc = {
    qpn,
    qp,
    refcount: 1,
    free: new Completion(table.k, `rsc_free(qp ${qpn})`),
  };
  yield* table.lock.lockIrqsave();
  table.tree.set(qpn, rsc);
  table.lock.unlockIrqrestore();
  return rsc;
}

/** mlx5_core_put_rsc(): the last put completes `free`. */
export function mlx5CorePutRsc(rsc: Mlx5CoreRsc): void {
  if (--rsc.refcount === 0) rsc.free.complete();
}

/**
 * destroy_resource_common(): no new user finds the QP; wait until every user that
 * holds it has put it. The caller may free the QP after this.
 */
export function* destroyResourceCommon(table: Mlx5QpTable, rsc: Mlx5CoreRsc): KGen {
  yield* table.lock.lockIrqsave();
  table.tree.delete(rsc.qpn);
  table.lock.unlockIrqrestore();
  mlx5CorePutRsc(rsc);
  yield* rsc.free.wait();
}

/** mlx5_get_rsc() from hard IRQ context (mlx5_rsc_event): IRQs are already off. */
function* mlx5GetRscIrq(table: Mlx5QpTable, qpn: number): KGen<Mlx5CoreRsc | null> {
  yield* table.lock.lock();
  const rsc = table.tree.get(qpn) ?? null;
  if (rsc !== null) rsc.refcount++;
  table.lock.unlock();
  return rsc;
}

/**
 * mlx5_core_res_hold() from process context (the page-fault worker): a reference on the
 * QP numbered `qpn`, or null. Fixed, mlx5_get_rsc saves and disables IRQs around the
 * lock; before "net/mlx5: Take lock with IRQs disabled to avoid deadlock" it took it
 * with a plain spin_lock, so an async event's interrupt on the same CPU would spin on
 * it for ever (lockdep: {HARDIRQ-ON-W} -> {IN-HARDIRQ-W}).
 */
export function* mlx5CoreResHold(table: Mlx5QpTable, qpn: number): KGen<Mlx5CoreRsc | null> {
  const irqUnsafe = table.k.hasDefect(QP_TABLE_LOCK_IRQ_UNSAFE);
  if (irqUnsafe) yield* table.lock.lock();
  else yield* table.lock.lockIrqsave();
  const rsc = table.tree.get(qpn) ?? null;
  if (rsc !== null) rsc.refcount++;
  if (irqUnsafe) table.lock.unlock();
  else table.lock.unlockIrqrestore();
  return rsc;
}

/** mlx5_core_res_put(). */
export function mlx5CoreResPut(rsc: Mlx5CoreRsc): void {
  mlx5CorePutRsc(rsc);
}

/**
 * mlx5_eq_int() -> mlx5_rsc_event() for an affiliated event on QP `qpn`: in hard IRQ
 * context, hold the resource, hand the event to the QP's handler, put it.
 */
export function* mlx5RscEvent(
  table: Mlx5QpTable,
  qpn: number,
  deliver: (qp: KObject) => void,
): KGen {
  const task = table.k.currentTask();
  task.inHardirq = true;
  task.atomicDepth++;
  const rsc = yield* mlx5GetRscIrq(table, qpn);
  if (rsc === null) {
    table.k.event("mlx5_core_warn", { msg: "async event for bogus resource", qpn });
  } else {
    if (table.k.kasan.check(rsc.qp, "mlx5_qp_event uses the QP")) deliver(rsc.qp);
    mlx5CorePutRsc(rsc);
  }
  task.atomicDepth--;
  task.inHardirq = false;
}
