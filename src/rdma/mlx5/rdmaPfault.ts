/**
 * The driver's handler of an RDMA responder page fault: the device faulted on the rkey /
 * address of an incoming RDMA WRITE, READ or atomic and waits to be resumed.
 *
 * Models mlx5_ib_mr_rdma_pfault_handler (drivers/infiniband/hw/mlx5/odp.c), whose logic
 * is the same in every era odpsim models, from the first ODP support (v4.0, the seed's
 * era) to v6.x:
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
 * A fault that maps fewer pages than the range it had to resolve fails: the handler
 * resumes with an error when pages_in_range(address, length) exceeds what
 * pagefault_single_data_segment returned. That is where the check was up to v6.12, in
 * every design's era; "RDMA/mlx5: Fix indirect mkey ODP page count" (v6.13) moved it into
 * pagefault_single_data_segment and skipped it for indirect mkeys, with the same result
 * for a responder fault on an MR. Simplification: that later form is not modelled apart.
 */
import { EAGAIN, EFAULT } from "../../sim/errno.ts";
import { PAGE_SIZE } from "../../mm/page.ts";
import type { KGen } from "../../sim/task.ts";
import type { Mlx5IbDev } from "./mlx5IbDev.ts";
import type { Mlx5OdpDesign } from "./odp/mlx5OdpDesign.ts";

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
 * (pages, -EAGAIN, or the fatal errno), then prefetches if the event asked for it.
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
  } else if (ret >= 0 && pagesInRange(address, length) > ret) {
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

/** pages_in_range(): the 4 KiB pages [address, address + length) touches. */
function pagesInRange(address: number, length: number): number {
  if (length === 0) return 0;
  return Math.floor((address + length - 1) / PAGE_SIZE) - Math.floor(address / PAGE_SIZE) + 1;
}
