/**
 * The driver's handler of a WQE page fault: the device faulted on a scatter/gather
 * entry of a send or receive WQE; the event names the QP number and the WQE, and the
 * handler must find the QP to read the WQE from its queue.
 *
 * Models mlx5_ib_mr_wqe_pfault_handler and pagefault_data_segments (drivers/infiniband/
 * hw/mlx5/odp.c; the segment walk and its checks as in v4.20 - v6.14, the resource lookup
 * as of v4.20 - v5.3: odp_get_rsc -> mlx5_core_res_hold, qp.c):
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
 * pagefault_data_segments() faults each data segment in turn, skipping the bytes the
 * hardware had committed, and sums into `bytes_mapped` what each fault mapped and into
 * `total_wqe_bytes` the bytes the WQE still needs; the handler resumes with an error when a
 * segment failed or bytes_mapped falls short of total_wqe_bytes. -EAGAIN resumes without
 * error (the device re-executes). What a segment's fault returns on success is the era's
 * (pageCount.ts): from v6.14 a short MR fails inside pagefault_single_data_segment.
 *
 * Simplifications: the device names the one data segment it could not translate, with
 * its rest from the faulting address, and the handler faults that list (a caller may give
 * it a whole WQE's segments); inline segments and the receive queue's end-of-list
 * terminator are not modelled.
 */
import { EFAULT } from "../../sim/errno.ts";
import type { KGen } from "../../sim/task.ts";
import type { Mlx5IbDev } from "./mlx5IbDev.ts";
import type { Mlx5OdpDesign } from "./odp/mlx5OdpDesign.ts";
import type { BytesMapped } from "./odp/pageCount.ts";
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

/** A data segment of zero length stands for 2 GiB. */
const ZERO_LENGTH_SEGMENT = 2 ** 31;

/** What pagefault_data_segments() leaves for its caller. */
interface DataSegmentsResult {
  readonly ret: number;
  readonly totalWqeBytes: number;
}

/**
 * pagefault_data_segments(): fault each of `segs` after the first `bytesCommitted` bytes
 * of the list, adding into `bytesMapped`; stops at the first error.
 */
export function* pagefaultDataSegments(
  dev: Mlx5IbDev,
  design: Mlx5OdpDesign,
  segs: readonly WqeSegment[],
  bytesCommitted: number,
  bytesMapped: BytesMapped,
): KGen<DataSegmentsResult> {
  let committed = bytesCommitted;
  let totalWqeBytes = 0;
  let ret = 0;
  bytesMapped.value = 0;
  for (const seg of segs) {
    totalWqeBytes += seg.bcnt - Math.min(seg.bcnt, committed);
    const bcnt = seg.bcnt === 0 ? ZERO_LENGTH_SEGMENT : seg.bcnt;
    if (bcnt <= committed) {
      committed -= bcnt;
      continue;
    }
    const flags = { write: seg.write };
    const [va, len] = [seg.va + committed, bcnt - committed];
    committed = 0;
    ret = yield* design.pagefaultSingleDataSegment(dev, null, seg.key, va, len, flags, bytesMapped);
    if (ret < 0) break;
  }
  return { ret, totalWqeBytes };
}

/**
 * mlx5_ib_mr_wqe_pfault_handler(): find the QP, read the WQE, fault its data segments
 * (`segs`, of which the hardware had committed `bytesCommitted` bytes), resume.
 */
export function* mlx5IbMrWqePfaultHandler(
  dev: Mlx5IbDev,
  design: Mlx5OdpDesign,
  qpn: number,
  segs: readonly WqeSegment[],
  resume: (ret: number) => void,
  bytesCommitted = 0,
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
  const bytesMapped: BytesMapped = { value: 0 };
  const { ret, totalWqeBytes } = yield* pagefaultDataSegments(
    dev,
    design,
    segs,
    bytesCommitted,
    bytesMapped,
  );
  resume(wqeFaultResult(dev, qpn, ret, totalWqeBytes, bytesMapped.value));
  if (held !== null) mlx5CoreResPut(held);
}

/** What the handler resumes with: -EAGAIN and errors as they are; too few bytes, -EFAULT. */
function wqeFaultResult(
  dev: Mlx5IbDev,
  qpn: number,
  ret: number,
  totalWqeBytes: number,
  bytesMapped: number,
): number {
  if (ret < 0 || totalWqeBytes <= bytesMapped) return ret;
  dev.k.event("wqe_pfault_short", {
    qpn,
    total_wqe_bytes: totalWqeBytes,
    bytes_mapped: bytesMapped,
  });
  return EFAULT;
}
