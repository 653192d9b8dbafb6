/**
 * The later design: uverbs IO-memory mmap with rdma_user_mmap_entry and a fault handler
 * (drivers/infiniband/core/ib_core_uverbs.c and uverbs_main.c since v5.1 / v5.5).
 *
 * "RDMA/ucontext: Fix regression with disassociate" (67f269b37f9b) gave rdma_umap_ops a
 * ->fault that maps the zero page (read-only VMAs) or one shared zeroed page per file
 * (writable ones) once a VMA has been zapped, made rdma_user_mmap_io refuse VMAs
 * without VM_SHARED, and stopped clearing VM_SHARED on disassociation. The mmap-entry
 * API ("RDMA/core: Create mmap database and cookie helper functions", v5.5) lets the
 * VMA hold a reference on the driver object it maps, dropped on close or
 * disassociation; see mmapEntry.ts. It runs in today's kernel, whose fork calls the
 * copy's ->open before it copies the page tables (mm/fork.ts, 35e351780fa9, v6.9).
 */
import { EINVAL } from "../../../sim/errno.ts";
import { setForkOpensBeforeCopy } from "../../../mm/fork.ts";
import { VM_SHARED, type VmAreaStruct } from "../../../mm/vma.ts";
import type { UverbsMmapDesign } from "./umapDesign.ts";
import { rdmaUmapFault } from "./umapFault.ts";
import { rdmaUmapClose, rdmaUmapOpen } from "./umapOps.ts";

export const entryUmapDesign: UverbsMmapDesign = {
  name: "entry",
  umapOps: {
    name: "rdma_umap_ops",
    open: rdmaUmapOpen,
    close: rdmaUmapClose,
    fault: rdmaUmapFault,
  },
  mmapIoCheck(vma: VmAreaStruct): number {
    return (vma.vmFlags & VM_SHARED) === 0 ? EINVAL : 0;
  },
  afterDisassociateZap(): void {
    // the flags stay: the VMA remains a shared mapping backed by rdma_umap_fault
  },
  kernelSetup(k) {
    // Today's kernel: dup_mmap() calls ->open before copy_page_range() (v6.9+).
    setForkOpensBeforeCopy(k, true);
  },
};
