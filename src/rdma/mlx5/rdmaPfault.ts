/**
 * The driver's handler of an RDMA responder page fault: the device faulted on the rkey /
 * address of an incoming RDMA WRITE, READ or atomic and waits to be resumed.
 *
 * Models mlx5_ib_mr_rdma_pfault_handler (drivers/infiniband/hw/mlx5/odp.c), whose logic
 * is the same in every era odpsim models, from the first ODP support (v4.0, the seed's
 * era) to v6.14, but for where the page count is checked (below):
 *   - the event reports the operation's VA and length, the bytes of it the hardware had
 *     already committed, and the size of the packet being executed; the handler skips the
 *     committed bytes and faults in the whole rest of the operation at once, then resumes;
 *   - only when the hardware reports a length of zero ("for some operations the hardware
 *     cannot tell the exact message length") does it fault just the packet, resume the
 *     QP, and then, still in the same work item, prefetch MAX_PREFETCH_LEN (4 MiB) at
 *     most from the same address — the length being the committed byte count, capped;
 *   - -EAGAIN (raced with an invalidation) resumes without the prefetch, and the device
 *     faults again; any other error resumes with an error (the QP goes to the error
 *     state); a failed prefetch is only logged.
 *
 * odpsim's responder always knows the operation's length (from the RETH or the
 * AtomicETH), so its faults take the first path; the zero-length path is reachable by
 * an event that reports no length.
 *
 * A fault that maps fewer pages than the range it had to resolve fails the QP, in both
 * forms of the check (pageCount.ts). Up to v6.13 (the classic and hmm-mirror designs'
 * era) the handler resumes with an error when pages_in_range(address, length) exceeds
 * the PAGE_SIZE pages pagefault_single_data_segment returned. Since "RDMA/mlx5: Fix
 * indirect mkey ODP page count" (235f23840219, v6.14-rc1; the interval design's v6.14)
 * pagefault_single_data_segment makes that comparison for each direct MR and returns
 * -EFAULT, 0 on success, and the handler tests only for an error. The handler passes no
 * bytes_mapped (NULL) in either form.
 */
import { EAGAIN, EFAULT } from "../../sim/errno.ts";
import type { KGen } from "../../sim/task.ts";
import type { Mlx5IbDev } from "./mlx5IbDev.ts";
import type { Mlx5OdpDesign } from "./odp/mlx5OdpDesign.ts";
import { pageCountPerDirectMr, pagesInRange } from "./odp/pageCount.ts";

/** MAX_PREFETCH_LEN: the most an RDMA responder fault prefetches after the resume. */
export const MAX_PREFETCH_LEN = 4 * 1024 * 1024;

/** The RDMA operation a responder access belongs to, as the hardware knows it. */
export interface RdmaOp {
  /** Where the operation starts (the RETH's VA). */
  readonly va: number;
  /** The operation's length in bytes; 0 when the hardware cannot tell. */
  readonly length: number;
  /** The payload bytes of the packet being executed. */
  readonly packetSize: number;
}

/** The RDMA part of a page-fault event (struct mlx5_pagefault's rdma fields). */
export interface RdmaPagefault {
  readonly rkey: number;
  readonly rdmaVa: number;
  readonly rdmaOpLen: number;
  readonly bytesCommitted: number;
  readonly packetSize: number;
  readonly write: boolean;
}

/** The event the device raises when `op` faults at `faultVa` through `rkey`. */
export function rdmaPagefaultOf(
  op: RdmaOp,
  rkey: number,
  faultVa: number,
  write: boolean,
): RdmaPagefault {
  const bytesCommitted = Math.max(0, faultVa - op.va);
  return {
    rkey,
    rdmaVa: op.va,
    rdmaOpLen: op.length,
    bytesCommitted,
    packetSize: op.packetSize,
    write,
  };
}

/**
 * mlx5_ib_mr_rdma_pfault_handler(): resolves `pf`, calls `resume` with the result
 * (>= 0 on success, -EAGAIN, or the fatal errno), then prefetches if the event asked.
 */
export function* mlx5IbMrRdmaPfaultHandler(
  dev: Mlx5IbDev,
  design: Mlx5OdpDesign,
  pf: RdmaPagefault,
  resume: (ret: number) => void,
): KGen {
  const address = pf.rdmaVa + pf.bytesCommitted;
  let length = pf.rdmaOpLen - Math.min(pf.bytesCommitted, pf.rdmaOpLen);
  let prefetchLen = pf.bytesCommitted;
  let prefetch = false;
  if (length === 0) {
    prefetch = true;
    length = pf.packetSize;
    prefetchLen = Math.min(MAX_PREFETCH_LEN, prefetchLen);
  }
  const flags = { write: pf.write };
  const ret = yield* design.pagefaultSingleDataSegment(dev, null, pf.rkey, address, length, flags);
  // -EAGAIN: racing an invalidation, so no prefetch; the device faults again.
  if (ret === EAGAIN) {
    prefetch = false;
  } else if (ret >= 0 && !pageCountPerDirectMr(dev.k) && pagesInRange(address, length) > ret) {
    dev.k.event("rdma_pfault_short", { key: pf.rkey, va: address, len: length, pages: ret });
    resume(EFAULT);
    return;
  }
  resume(ret);
  if (ret < 0 || !prefetch || prefetchLen === 0) return;
  // After the resume the QP runs again; this work item goes on with the prefetch.
  const got = yield* design.pagefaultSingleDataSegment(
    dev,
    null,
    pf.rkey,
    address,
    prefetchLen,
    flags,
  );
  dev.k.event("rdma_pfault_prefetch", { key: pf.rkey, va: address, len: prefetchLen, ret: got });
}
