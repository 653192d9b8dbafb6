/**
 * Affiliated asynchronous events of a QP: the HCA posts an event naming the QP number
 * on the async event queue, and the queue's interrupt handler delivers it.
 *
 * Models what the responder does on a local access violation (IBA 11.6.3, "Local
 * Access Violation Work Queue Error": MLX5_EVENT_TYPE_WQ_ACCESS_ERROR) and the path of
 * such an event through mlx5_eq_int (hard IRQ context) -> mlx5_rsc_event ->
 * mlx5_qp_event -> mlx5_ib_qp_event (IB_EVENT_QP_ACCESS_ERR) of
 * drivers/net/ethernet/mellanox/mlx5/core/eq.c, qp.c and drivers/infiniband/hw/mlx5/qp.c.
 * The interrupt is a task of its own that runs in hard IRQ context.
 * Simplification: the consumer of the event (the uverbs async event file) is a trace
 * event.
 */
import type { KGen } from "../../../sim/task.ts";
import type { Mlx5Qp } from "./mlx5Qp.ts";
import { mlx5QpTable, mlx5RscEvent, type Mlx5QpTable } from "./qpTable.ts";

/** The responder of `qp` met an access violation: the HCA raises WQ_ACCESS_ERROR. */
export function raiseWqAccessError(qp: Mlx5Qp): void {
  const dev = qp.port.dev;
  const table = mlx5QpTable(dev);
  const qpn = qp.qpNum;
  dev.k.spawn(`irq/mlx5_async_eq`, { kind: "device", name: dev.name }, () => mlx5EqInt(table, qpn));
}

/** mlx5_eq_int() for one WQ_ACCESS_ERROR event. */
function* mlx5EqInt(table: Mlx5QpTable, qpn: number): KGen {
  yield* mlx5RscEvent(table, qpn, (qp) => {
    table.k.event("ib_qp_event", { qpn, event: "IB_EVENT_QP_ACCESS_ERR", qp: qp.objName });
  });
}
