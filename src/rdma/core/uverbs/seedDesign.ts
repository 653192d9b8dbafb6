/**
 * The seed design: uverbs IO-memory mmap exactly as seed 004 added it (v4.20,
 * drivers/infiniband/core/uverbs_main.c, "RDMA/ucontext: Add a core API for mmaping
 * driver IO memory").
 *
 * rdma_umap_ops has open and close only. Disassociation zaps each VMA and clears
 * VM_SHARED | VM_MAYSHARE, meaning the VMA to become anonymous memory; but vm_ops stays
 * set, so the kernel's do_fault() finds no ->fault and the process gets SIGBUS on its
 * next touch. That is the seed's behaviour, kept here as a historical record.
 */
import { setForkOpensBeforeCopy } from "../../../mm/fork.ts";
import { VM_MAYSHARE, VM_SHARED, type VmAreaStruct } from "../../../mm/vma.ts";
import type { UverbsMmapDesign } from "./umapDesign.ts";
import { rdmaUmapClose, rdmaUmapOpen } from "./umapOps.ts";

export const seedUmapDesign: UverbsMmapDesign = {
  name: "seed",
  umapOps: { name: "rdma_umap_ops", open: rdmaUmapOpen, close: rdmaUmapClose },
  mmapIoCheck(): number {
    return 0; // seed 004 maps MAP_PRIVATE too
  },
  afterDisassociateZap(vma: VmAreaStruct): void {
    vma.vmFlags &= ~(VM_SHARED | VM_MAYSHARE);
  },
  kernelSetup(k) {
    // v4.20: dup_mmap() calls ->open after copy_page_range().
    setForkOpensBeforeCopy(k, false);
  },
};
