/**
 * What exploration found in the designs themselves, with no defect switched on: real
 * properties of the code a design reproduces, each tested and described in the README.
 *
 * Models no kernel file. A finding is never silenced: the catalog check still counts the
 * runs of a fixed design that show one, and says which finding they are; it only stops
 * them from being reported as an unexplained violation. Matching is by design, violation
 * kind and, where a finding gives them, strings its message must contain (the two lock
 * classes of an inversion, the wait queue of a deadlock): a design's kind alone is too
 * coarse once it has one finding of that kind, since every later violation of the kind
 * would be taken for it. Each finding's test pins where it shows.
 */

export interface Finding {
  readonly id: string;
  /** The design whose code has it (none of the catalog's defects switched on). */
  readonly design: string;
  /** The violation kinds it shows as. */
  readonly kinds: readonly string[];
  /**
   * Strings that must all appear in the violation's message for it to be this finding
   * (absent: any message of those kinds).
   */
  readonly messageIncludes?: readonly string[];
  readonly title: string;
  /**
   * Where it shows (findings.test.ts explores it there): a catalog scenario's name, or
   * the path of a scenario file (`.yaml`) from the repository's root.
   */
  readonly scenario: string;
  /** The test that shows how it happens. */
  readonly test: string;
}

export const FINDINGS: readonly Finding[] = [
  {
    id: "hmm-mirror-raced-fault-fails",
    design: "hmm-mirror",
    kinds: ["qp_error_on_valid_memory"],
    title:
      "the hmm-mirror posting fails an explicit MR's fault that an invalidation raced " +
      "(`!implicit || odp->dying`): the QP errors although the memory is mapped",
    scenario: "fault-vs-invalidate",
    test: "test/rdma/mlx5/hmmMirrorOdp.test.ts",
  },
  {
    id: "hmm-mirror-publish-after-zap",
    design: "hmm-mirror",
    kinds: ["device_use_after_free", "device_stale_translation"],
    title:
      "the hmm-mirror posting's invalidation clears range->valid and zaps without " +
      "umem_mutex, so a fault that passed hmm_range_valid() publishes a page the zap cleared",
    scenario: "writeback-vs-odp",
    test: "test/rdma/mlx5/hmmMirrorOdp.test.ts",
  },
  {
    id: "classic-implicit-root-umem-mutex-class",
    design: "classic",
    kinds: ["lock_order_inversion"],
    // "umem_mutex " (with the space) is the class of ib_umem_odp_get's mutex in either
    // order of the message ("A -> B here, B => A earlier"), not a child's
    // "umem_mutex(ib_alloc_odp_umem)".
    messageIncludes: ["umem_mutex ", "umem_rwsem"],
    title:
      "v5.3 initializes an implicit root's umem_mutex where it initializes an explicit " +
      "umem's (ib_umem_odp_get), so lockdep sees one class taken both before umem_rwsem " +
      "(implicit_mr_get_data: root umem_mutex, then odp_lookup) and after it (an " +
      "invalidation locks an explicit umem's umem_mutex); no deadlock, as nothing takes " +
      "a root's umem_mutex under umem_rwsem",
    scenario: "fuzz/findings/finding-classic-lock_order_inversion-0.yaml",
    test: "test/rdma/mlx5/classicFindings.test.ts",
  },
  {
    id: "classic-implicit-root-umem-mutex-mmap-lock",
    design: "classic",
    kinds: ["lock_order_inversion"],
    messageIncludes: ["mmap_lock", "umem_mutex "],
    title:
      "the same shared umem_mutex class closes a longer cycle: an implicit fault holds the " +
      "root's umem_mutex across ib_alloc_odp_umem (per_mm_list_lock), registration holds " +
      "per_mm_list_lock across mmu_notifier_register (mmap_lock), and munmap invalidates " +
      "an explicit umem under mmap_lock (umem_rwsem, then its umem_mutex)",
    scenario: "fuzz/findings/finding-classic-lock_order_inversion-6.yaml",
    test: "test/rdma/mlx5/classicFindings.test.ts",
  },
  {
    id: "classic-refusal-leaves-itree-open",
    design: "classic",
    kinds: ["deadlock"],
    messageIncludes: ["waits on wait queue notifier_subscriptions(", ").wq"],
    title:
      "a non-blockable start (OOM reaper) that the interval tree accepts and the classic " +
      "per_mm notifier refuses returns -EAGAIN with the tree's invalidation still counted: " +
      "no end follows, invalidate_seq stays odd, and mmu_interval_read_begin of a mirror " +
      "on the same mm (dmirror) sleeps for ever",
    scenario: "fuzz/findings/finding-classic-deadlock-1.yaml",
    test: "test/rdma/mlx5/classicFindings.test.ts",
  },
];

/** What findingOf() reads of a violation. */
export interface ViolationSummary {
  readonly kind: string;
  readonly message: string;
}

/** Whether `violation`, in a design with no defect on, is `finding`. */
export function isFinding(finding: Finding, design: string, violation: ViolationSummary): boolean {
  if (finding.design !== design || !finding.kinds.includes(violation.kind)) return false;
  return (finding.messageIncludes ?? []).every((s) => violation.message.includes(s));
}

/** The documented finding a fixed design's violation is, if it is one. */
export function findingOf(design: string, violation: ViolationSummary): Finding | undefined {
  return FINDINGS.find((f) => isFinding(f, design, violation));
}
