/**
 * The driver's handler of a WQE page fault: the device faulted on a scatter/gather
 * entry of a send or receive WQE; the event names the QP number and the WQE, and the
 * handler must find the QP to read the WQE from its queue.
 *
 * Models mlx5_ib_mr_wqe_pfault_handler (drivers/infiniband/hw/mlx5/odp.c, v4.20 - v5.3)
 * with its resource lookup (odp_get_rsc -> mlx5_core_res_hold, qp.c):
 *
 *     res = mlx5_core_res_hold(wq_num)     the QP, held: its destroy now waits for us
 *     mlx5_ib_read_user_wqe(qp, ...)       the WQE's data segments
 *     pagefault_data_segments()            pagefault_single_data_segment on each
 *     mlx5_ib_page_fault_resume()
 *     mlx5_core_res_put(res)
 *
 * Before "IB/mlx5: Lock QP during page fault handling" (v4.20; catalog defect
 * wqe-pfault-no-qp-ref) the handler looked the QP up with __mlx5_qp_lookup(), which
 * takes no reference, so a QP destroyed meanwhile was freed under it.
 *
 * Simplification: the device faults one data segment (the one it could not translate)
 * and the handler faults just that one, where the kernel walks every segment of the WQE.
 */
import { EFAULT } from "../../sim/errno.ts";
import type { KGen } from "../../sim/task.ts";
import type { Mlx5IbDev } from "./mlx5IbDev.ts";
import type { Mlx5OdpDesign } from "./odp/mlx5OdpDesign.ts";
import { mlx5CoreResHold, mlx5CoreResPut, mlx5QpTable, type Mlx5CoreRsc } from "./qp/qpTable.ts";

/** Catalog defect: the WQE fault handler uses the QP without holding it (before v4.20). */
export const WQE_PFAULT_NO_QP_REF = "wqe-pfault-no-qp-ref";

/** The data segment the device faulted on. */
export interface WqeSegment {
  readonly key: number;
  readonly va: number;
  readonly bcnt: number;
  readonly write: boolean;
}

/** mlx5_ib_mr_wqe_pfault_handler(): find the QP, read the WQE, fault its segment, resume. */
export function* mlx5IbMrWqePfaultHandler(
  dev: Mlx5IbDev,
  design: Mlx5OdpDesign,
  qpn: number,
  seg: WqeSegment,
  resume: (ret: number) => void,
): KGen {
  const k = dev.k;
  const table = mlx5QpTable(dev);
  let held: Mlx5CoreRsc | null = null;
  let qp;
  if (k.hasDefect(WQE_PFAULT_NO_QP_REF)) {
    // __mlx5_qp_lookup(): the radix tree, no lock, no reference.
    qp = table.tree.get(qpn)?.qp ?? null;
    yield "__mlx5_qp_lookup";
  } else {
    held = yield* mlx5CoreResHold(table, qpn);
    qp = held?.qp ?? null;
  }
  if (qp === null) {
    // The QP is gone: nothing to read; the device dropped the fault with it.
    k.event("mlx5_ib_err", { msg: "Failed to find QP", qpn });
    resume(EFAULT);
    return;
  }
  yield "mlx5_ib_read_user_wqe";
  if (!k.kasan.check(qp, "mlx5_ib_mr_wqe_pfault_handler reads the WQE from the QP")) {
    resume(EFAULT);
    return;
  }
  const flags = { write: seg.write };
  resume(yield* design.pagefaultSingleDataSegment(dev, null, seg.key, seg.va, seg.bcnt, flags));
  if (held !== null) mlx5CoreResPut(held);
}
