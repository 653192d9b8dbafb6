/**
 * What the hmm-mirror design's default is: seed 002 ("RDMA/odp: convert to use HMM for
 * ODP" v5, on v5.2-rc1) as posted, except for the changes listed here, each of which its
 * catalog defect takes out again; and what is kept as posted, bugs included. The one home
 * of that statement: the design's file headers, the README and `odpsim catalog` say it
 * from here.
 *
 * Models no kernel file.
 */
import { HMM_NOTIFIER_UAF, HMM_START_ERROR_FLOW } from "../../../mm/notifier/hmmMirror.ts";

/** A change from the posting that the default carries, and the defect that undoes it. */
export interface HmmMirrorChange {
  /** The catalog defect that restores the posted code. */
  readonly defect: string;
  readonly change: string;
  /** Where the change comes from: the review thread, or a later kernel commit. */
  readonly source: string;
}

/** The changes the default carries, oldest source first. */
export const HMM_MIRROR_CARRIED_CHANGES: readonly HmmMirrorChange[] = [
  {
    defect: "hmm-fault-no-mmget",
    change: "mmget_not_zero() held across hmm_range_fault() in ib_umem_odp_map_dma_pages()",
    source: "the review of seed 002 (as ib_umem_odp_map_dma_and_lock() later does)",
  },
  {
    defect: HMM_NOTIFIER_UAF,
    change: "the notifier callbacks take the hmm by container_of and free it after a grace period",
    source: "mm/hmm: Fix use after free with struct hmm in the mmu notifiers (v5.3)",
  },
  {
    defect: HMM_START_ERROR_FLOW,
    change: "hmm_invalidate_range_start passes a mirror's -EAGAIN on, hmm->lock a spinlock",
    source: "mm/hmm: Fix error flows in hmm_invalidate_range_start (v5.3)",
  },
];

/** What the default keeps as posted, defects and all (no switch turns them off). */
export const HMM_MIRROR_KEPT_AS_POSTED: readonly string[] = [
  "pagefault_mr turns an explicit MR's -EAGAIN into -EFAULT (`!implicit || odp->dying`): a raced fault kills the QP",
  "pagefault_mr takes `off` after aligning io_virt (always 0), so an unaligned fault's range is ALIGN(size) from the aligned address, a page short when the offset carries the end into one more page: an RDMA responder fault fails the QP, a WQE or plain access faults again",
  "the invalidation clears range->valid and zaps without umem_mutex, so a fault that passed hmm_range_valid() can publish a zapped page",
  "umem_mutex held across hmm_range_dma_map(): a COW-breaking device write fault takes it again (examples/18-hmm-mirror-self-deadlock.yaml)",
  "unlocked reads of hmm->dead and range->valid",
  "implicit children: v5.2's unlocked KSM update (catalog #20's shape) and split umem_mutex holds (#14's shape)",
  "the zero page is special to hmm_range_fault(): a read-only walk over it fails",
  "v5.2's hmm_vma_do_fault() asks for a write without checking VM_WRITE: a device write to read-only memory faults for ever",
  "the release trampoline sets umem->dying (v5.2, before f591822c3cf3): implicit children the mm's release empties leak (catalog #21's shape)",
  "v5.2's hmm_release() unlinks each mirror before its release runs: an OOM reaper racing exit_mmap frees pages the device still maps",
  "umem_mutex taken under mmap_sem while implicit_mr_get_data allocates children under it: lockdep's mmap_sem -> umem_mutex -> per_mm_list_lock cycle",
];

/** The statement as lines, for `odpsim catalog` and the README. */
export function hmmMirrorDefaultLines(): string[] {
  return [
    "hmm-mirror is seed 002 as posted, with these changes in by default (--defect restores the posting):",
    ...HMM_MIRROR_CARRIED_CHANGES.map((c) => `  ${c.defect}: ${c.change} [${c.source}]`),
    "and kept as posted:",
    ...HMM_MIRROR_KEPT_AS_POSTED.map((k) => `  - ${k}`),
  ];
}
