/**
 * The device touching host memory through a key: translate each page through the mkey,
 * raise a page fault when the translation is missing or lacks the access, wait for the
 * driver to resolve it, and move the bytes.
 *
 * Models the hardware side of an mlx5 ODP access (what the HCA does for a WQE's
 * scatter/gather entry or an RDMA responder access) and the driver's fault round trip
 * (mlx5_ib_eqe_pf_action -> mlx5_ib_mr_pagefault_action -> pagefault_single_data_segment
 * -> mlx5_ib_page_fault_resume). An access for a QP's WQE raises a WQE fault, which names
 * only the QP number: its handler finds the QP first (wqePfault.ts); a QP destroyed
 * while one of its faults is pending drops it (the waiting access ends with -EIO and the
 * handler's later resume finds no one). A fault that returns -EAGAIN resumes without error and
 * the device re-executes, faulting again if it must; any other error is fatal to the
 * access (the QP goes to the error state). An implicit MR's key is a KSM mkey: each
 * fixed-size slot points at a child MTT mkey, which translates the page.
 */
import { EAGAIN, EFAULT, EIO, ENODEV } from "../../sim/errno.ts";
import { Completion } from "../../sim/sync/completion.ts";
import type { WaitQueueHead } from "../../sim/sync/waitQueue.ts";
import { WorkStruct } from "../../sim/sync/workqueue.ts";
import type { KGen } from "../../sim/task.ts";
import { accessFields } from "../../sim/objectAccess.ts";
import { PAGE_SIZE, frameId } from "../../mm/page.ts";
import { mkeyId, mttPfn, mttReadable, mttWritable, type Mlx5Mkey } from "./mkey.ts";
import type { Mlx5IbDev } from "./mlx5IbDev.ts";
import type { Mlx5OdpDesign } from "./odp/mlx5OdpDesign.ts";
import { mlx5IbMrRdmaPfaultHandler, rdmaPagefaultOf, type RdmaOp } from "./rdmaPfault.ts";
import { mlx5IbMrWqePfaultHandler } from "./wqePfault.ts";

/** The outcome of a device access: 0, or the fatal errno that broke it. */
export type DmaStatus = number;

export interface DeviceDmaRequest {
  readonly key: number;
  readonly va: number;
  /** For a write: the bytes to store. For a read: the buffer to fill. */
  readonly buf: Uint8Array;
  readonly write: boolean;
  /**
   * A responder's access for an RDMA WRITE, READ or atomic: its faults are RDMA
   * responder faults on the whole operation (rdmaPfault.ts), not on this access alone.
   */
  readonly rdma?: RdmaOp;
  /** The QP whose WQE (send or receive) the access serves: its faults are WQE faults. */
  readonly wqe?: WqeSource;
}

/** The work queue a WQE fault names (pfault->wqe.wq_num), as the device sees it. */
export interface WqeSource {
  readonly qpNum: number;
  /** Destroyed: the hardware drops the QP's outstanding page faults. */
  readonly destroyed: boolean;
  /** Woken when a page fault of the QP is resumed, and when the QP is destroyed. */
  readonly pfEvent: WaitQueueHead;
}

/** Performs one device access; returns 0 or a fatal errno. */
export function* mlx5DeviceDma(
  dev: Mlx5IbDev,
  design: Mlx5OdpDesign,
  req: DeviceDmaRequest,
): KGen<DmaStatus> {
  if (dev.removed) return ENODEV;
  let done = 0;
  while (done < req.buf.length) {
    const va = req.va + done;
    const chunk = Math.min(req.buf.length - done, PAGE_SIZE - (va % PAGE_SIZE));
    const top = dev.mkeys.get(req.key);
    if (top === undefined || !top.valid || top.kind === "null") return EFAULT;
    if (va < top.iova || va + chunk > top.iova + top.length) return EFAULT;
    // An implicit MR's KSM slot leads to a child MTT mkey; an empty slot (the null mkey)
    // faults like an empty MTT entry, on the key the access used.
    const mkey = top.kind === "ksm" ? ksmChild(top, va) : top;
    const idx = mkey === null ? 0 : Math.floor((va - mkey.iova) / 2 ** mkey.pageShift);
    const entry = mkey?.mtt?.get(idx) ?? 0;
    const allowed = req.write ? mttWritable(entry) : mttReadable(entry);
    if (mkey === null || !allowed) {
      // What the device read and missed: the KSM slot of an implicit MR, the MTT entry.
      // Always named, so the fault's observers can say which translation never came.
      const missed = translationIds(top, mkey, va, idx);
      const bcnt = req.buf.length - done;
      const ret = yield* raisePageFault(dev, design, req, va, bcnt, missed);
      if (ret < 0 && ret !== EAGAIN) return ret;
      continue;
    }
    const pageOffset = (va - mkey.iova) % 2 ** mkey.pageShift;
    const pfn = mttPfn(entry) + Math.floor(pageOffset / PAGE_SIZE);
    const mappedGeneration = (mkey.mttGen?.get(idx) ?? 1) - 1;
    if (dev.k.trace !== null) {
      // What the device read to translate: the KSM slot of an implicit MR, the MTT entry.
      const read = translationIds(top, mkey, va, idx);
      dev.k.event(req.write ? "dma write" : "dma read", {
        mkey: mkey.key,
        va,
        [`MTT[${idx}]`]: `pfn ${pfn}`,
        ...accessFields([...read, frameId(pfn, 1, mappedGeneration)]),
      });
    }
    dev.observeDma({ dev, mkey, va, pfn, write: req.write, mappedGeneration });
    // A translation past the end of RAM: the bus aborts the access (PCIe master abort).
    if (!dev.phys.pfnValid(pfn)) return EIO;
    const slice = req.buf.subarray(done, done + chunk);
    if (req.write) dev.phys.writeBytes(pfn, va % PAGE_SIZE, slice);
    else dev.phys.readBytes(pfn, va % PAGE_SIZE, slice, 0, chunk);
    dev.k.clock.advance(dev.cost.dmaPerByteNs * chunk);
    done += chunk;
    yield req.write ? "dma write" : "dma read";
  }
  return 0;
}

/** The trace ids of the translation entries an access to `va` reads. */
function translationIds(top: Mlx5Mkey, mkey: Mlx5Mkey | null, va: number, idx: number): string[] {
  const ids: string[] = [];
  if (top.kind === "ksm") ids.push(mkeyId(top.key, Math.floor((va - top.iova) / top.slotSize)));
  if (mkey !== null) ids.push(mkeyId(mkey.key, idx));
  return ids;
}

/** The child mkey a KSM slot points `va` at, or null (the null mkey, or one revoked). */
function ksmChild(ksm: Mlx5Mkey, va: number): Mlx5Mkey | null {
  const child = ksm.ksm?.get(Math.floor((va - ksm.iova) / ksm.slotSize));
  if (child === undefined || !child.valid || child.kind !== "mtt") return null;
  return child;
}

/**
 * A page fault event: the driver's fault work runs pagefault_single_data_segment on
 * the page-fault workqueue (for an RDMA responder fault, the RDMA handler, which may go
 * on prefetching after the resume) while the access waits to be resumed.
 */
function* raisePageFault(
  dev: Mlx5IbDev,
  design: Mlx5OdpDesign,
  req: DeviceDmaRequest,
  va: number,
  bcnt: number,
  missed: readonly string[],
): KGen<number> {
  const k = dev.k;
  const { key, write, rdma, wqe } = req;
  const pfault: Mlx5Pagefault = {
    dev,
    design,
    key,
    va,
    bcnt,
    write,
    rdma,
    wqe,
    missed,
    // A Perfetto flow from the fault through its handler to the resume.
    flow: dev.nextFaultFlow(),
    resumed: new Completion(k, `pf_resume(${key.toString(16)}@${va.toString(16)})`),
    done: false,
    result: 0,
  };
  dev.faultsInFlight++;
  // The mm the key's MR maps, so the trace can link the fault to the invalidations of
  // that mm which race it (src/output/faultRaces.ts). Trace events cost nothing when
  // tracing is off.
  const mm = dev.mrs.get(key)?.pd.uctx.mm.name ?? null;
  k.event("page_fault", {
    key,
    va,
    bcnt,
    write,
    mm,
    flow: pfault.flow,
    flowPhase: "start",
    ...accessFields(missed),
  });
  k.event("faults_in_flight", { counter: "faults in flight", value: dev.faultsInFlight });
  dev.pageFaultWq.queueWork(
    new WorkStruct("mlx5_ib_eqe_pf_action", () => mlx5IbEqePfAction(pfault)),
  );
  if (wqe === undefined) yield* pfault.resumed.wait();
  else yield* wqe.pfEvent.waitEvent(() => pfault.done || wqe.destroyed);
  dev.faultsInFlight--;
  k.event("faults_in_flight", { counter: "faults in flight", value: dev.faultsInFlight });
  return pfault.done ? pfault.result : EIO;
}

/** One page fault event in flight (struct mlx5_pagefault) and how it ended. */
interface Mlx5Pagefault {
  readonly dev: Mlx5IbDev;
  readonly design: Mlx5OdpDesign;
  readonly key: number;
  readonly va: number;
  readonly bcnt: number;
  readonly write: boolean;
  readonly rdma: RdmaOp | undefined;
  readonly wqe: WqeSource | undefined;
  /** The translation entries whose absence raised the fault. */
  readonly missed: readonly string[];
  readonly flow: number;
  readonly resumed: Completion;
  /** Resumed (the completion's flag, readable by a WQE fault's wait condition). */
  done: boolean;
  result: number;
}

/** mlx5_ib_eqe_pf_action(): the fault's work on the page-fault workqueue. */
function* mlx5IbEqePfAction(pfault: Mlx5Pagefault): KGen {
  const { dev, design, key, va, write, rdma } = pfault;
  yield* dev.k.sleep(dev.cost.pageFaultNs);
  dev.k.event("pagefault_single_data_segment", { key, va, flow: pfault.flow });
  const resume = (ret: number): void => {
    mlx5IbPageFaultResume(pfault, ret);
  };
  if (rdma !== undefined) {
    yield* mlx5IbMrRdmaPfaultHandler(dev, design, rdmaPagefaultOf(rdma, key, va, write), resume);
  } else if (pfault.wqe !== undefined) {
    const seg = { key, va, bcnt: pfault.bcnt, write };
    yield* mlx5IbMrWqePfaultHandler(dev, design, pfault.wqe.qpNum, [seg], resume);
  } else {
    resume(yield* design.pagefaultSingleDataSegment(dev, null, key, va, pfault.bcnt, { write }));
  }
}

/** mlx5_ib_page_fault_resume(): the access waiting on the fault goes on. */
function mlx5IbPageFaultResume(pfault: Mlx5Pagefault, ret: number): void {
  const { dev, key, va, write, missed } = pfault;
  pfault.result = ret;
  pfault.done = true;
  dev.k.event("page_fault_resume", { key, va, ret, flow: pfault.flow, flowPhase: "end" });
  // The resume of a destroyed QP's fault reaches no QP: nothing for observers to judge.
  if (pfault.wqe?.destroyed !== true) dev.notePageFault({ dev, key, va, write, ret, missed });
  pfault.resumed.complete();
  pfault.wqe?.pfEvent.wakeUp();
}
