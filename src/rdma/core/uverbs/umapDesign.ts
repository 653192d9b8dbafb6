/**
 * The one interface the two uverbs mmap designs differ behind.
 *
 * Models no kernel file by itself: it names the places where seed 004's
 * drivers/infiniband/core/uverbs_main.c and the later form (ib_core_uverbs.c with
 * rdma_user_mmap_entry, and rdma_umap_fault from "RDMA/ucontext: Fix regression with
 * disassociate", 67f269b37f9b) behave differently:
 *
 *   - the vm_operations_struct of a tracked VMA (the later form adds ->fault, which
 *     maps the zero page or one shared zeroed page after disassociation; the seed has
 *     none, so a touch after disassociation is SIGBUS — the regression that fix names);
 *   - rdma_user_mmap_io's precondition (the fix requires VM_SHARED, since the zeroed
 *     page it hands out must never be copied on write);
 *   - what disassociation does to a VMA after zapping it (the seed clears VM_SHARED and
 *     VM_MAYSHARE hoping to make it anonymous; the fix leaves the flags alone);
 *   - the kernel era around it (kernelSetup): the mmap-entry design runs in today's
 *     kernel, whose fork calls ->open before copying the page tables (mm/fork.ts).
 */
import type { Kernel } from "../../../sim/kernel.ts";
import type { VmAreaStruct, VmOperationsStruct } from "../../../mm/vma.ts";

export interface UverbsMmapDesign {
  /** "seed" or "entry". */
  readonly name: string;
  /** rdma_umap_ops of this design. */
  readonly umapOps: VmOperationsStruct;
  /** rdma_user_mmap_io's design-specific check: 0 or -EINVAL. */
  mmapIoCheck(vma: VmAreaStruct): number;
  /** Called by disassociation on each VMA right after zap_vma_ptes. */
  afterDisassociateZap(vma: VmAreaStruct): void;
  /** Puts the simulated kernel in this design's era (the fork order). */
  kernelSetup(k: Kernel): void;
}
