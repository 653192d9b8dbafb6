/**
 * Oracle: device page faults make progress. A fault on memory the process has mapped
 * with the access the device needs, through a live MR, must not end in a fatal error
 * (which puts the QP in the error state); and one access must not fault for ever.
 *
 * Models no kernel file: it states what a user of ODP relies on. It watches through the
 * device's page-fault observer hook only.
 *
 *   qp_error_on_valid_memory  a fatal fault although the MR is live and the VMA allows it
 *                             (write, for a writable MR; hugetlb, if the MR was
 *                             registered IB_ACCESS_HUGETLB)
 *   fault_livelock            one page faulted more than FAULT_LIMIT times in a row
 *                             without the device getting to access it
 */
import { EAGAIN } from "../../sim/errno.ts";
import { errnoName } from "../../sim/errno.ts";
import { vmaLookup } from "../../mm/mmStruct.ts";
import { PAGE_SIZE } from "../../mm/page.ts";
import { VM_HUGETLB, VM_READ, VM_WRITE } from "../../mm/vma.ts";
import { IB_ACCESS_HUGETLB } from "../../rdma/core/ibVerbs.ts";
import type { Mlx5IbDev, PageFaultOutcome } from "../../rdma/mlx5/mlx5IbDev.ts";
import { OracleKinds } from "../violationKinds.ts";

/** What this oracle reports. */
export const FAULT_PROGRESS_KINDS = new OracleKinds("fault progress", [
  "qp_error_on_valid_memory",
  "fault_livelock",
]);

/** Faults of one (key, va) in a row after which the device is deemed stuck. */
export const FAULT_LIMIT = 64;

export function attachFaultProgressOracle(dev: Mlx5IbDev): void {
  // Faults in a row at one (key, page) with no access of the device there in between.
  const streak = new Map<string, number>();
  const where = (key: number, va: number) => `${key}@${Math.floor(va / PAGE_SIZE)}`;
  dev.dmaObservers.push((access) => {
    streak.delete(where(access.mkey.key, access.va));
  });
  dev.pageFaultObservers.push((fault) => {
    const at = where(fault.key, fault.va);
    const n = (streak.get(at) ?? 0) + 1;
    streak.set(at, n);
    if (n > FAULT_LIMIT) reportLivelock(fault, n);
    else if (fault.ret < 0 && fault.ret !== EAGAIN) checkFatal(fault);
  });
}

function reportLivelock(fault: PageFaultOutcome, n: number): void {
  FAULT_PROGRESS_KINDS.report(
    fault.dev.k,
    "fault_livelock",
    `page fault at va 0x${fault.va.toString(16)} retried ${n} times`,
    // The entries the device kept missing: the slice looks for who wrote them last.
    { key: fault.key, va: fault.va, objects: [...fault.missed] },
  );
}

function checkFatal(fault: PageFaultOutcome): void {
  const { dev, key, va } = fault;
  // An injected failure (ENOMEM, a failed UMR or DMA mapping) may legitimately kill a QP.
  if (dev.k.faultsInjected > 0) return;
  const mr = dev.mrs.get(key);
  const umem = mr?.umem;
  if (mr === undefined || !mr.live || umem === null || umem === undefined || umem.dying) return;
  const mm = umem.owningMm;
  if (mm.freed || mm.mmUsers.read() === 0) return;
  const vma = vmaLookup(mm, va);
  if (vma === null) return;
  // A fault through a writable ODP MR asks for write access whatever the device was
  // doing (the access mask of pagefault_mr / pagefault_real_mr): read-only memory under
  // a writable MR fails every fault, by design.
  const needed = fault.write || umem.writable ? VM_WRITE : VM_READ;
  if ((vma.vmFlags & needed) === 0) return;
  // An IB_ACCESS_HUGETLB MR promises hugetlb memory: over small pages the fault is
  // refused on purpose (-EINVAL since v5.10).
  if ((mr.access & IB_ACCESS_HUGETLB) !== 0 && (vma.vmFlags & VM_HUGETLB) === 0) return;
  FAULT_PROGRESS_KINDS.report(
    dev.k,
    "qp_error_on_valid_memory",
    `page fault at va 0x${va.toString(16)} failed ${errnoName(fault.ret)} although the MR is live and the memory mapped`,
    { key, va, ret: fault.ret, write: fault.write },
  );
}
