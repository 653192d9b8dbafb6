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
  // Findings with a message of their own come before the kind-only ones of their design:
  // findingOf() names the first that matches.
  {
    id: "classic-zap-failure-keeps-translation",
    design: "classic",
    kinds: ["device_translation_outlives_frame"],
    messageIncludes: ["(the zap UMR of MTT[", "] failed)"],
    title:
      "mlx5_ib_invalidate_range (v5.3) ignores mlx5_ib_update_xlt's error: when the zap's " +
      "UMR fails (injected at the umr site), the pages are unmapped and freed while the " +
      "device still translates them",
    scenario: "examples/19-zap-umr-failure.yaml",
    test: "test/rdma/mlx5/zapFailure.test.ts",
  },
  {
    id: "hmm-mirror-zap-failure-keeps-translation",
    design: "hmm-mirror",
    kinds: ["device_translation_outlives_frame"],
    messageIncludes: ["(the zap UMR of MTT[", "] failed)"],
    title:
      "mlx5_ib_invalidate_range (the posting) ignores mlx5_ib_update_xlt's error: when the zap's " +
      "UMR fails (injected at the umr site), the pages are unmapped and freed while the " +
      "device still translates them",
    scenario: "examples/19-zap-umr-failure.yaml",
    test: "test/rdma/mlx5/zapFailure.test.ts",
  },
  {
    id: "interval-zap-failure-keeps-translation",
    design: "interval",
    kinds: ["device_translation_outlives_frame"],
    messageIncludes: ["(the zap UMR of MTT[", "] failed)"],
    title:
      "mlx5_ib_invalidate_range (v6.14) ignores mlx5_ib_update_xlt's error: when the zap's " +
      "UMR fails (injected at the umr site), the pages are unmapped and freed while the " +
      "device still translates them",
    scenario: "examples/19-zap-umr-failure.yaml",
    test: "test/rdma/mlx5/zapFailure.test.ts",
  },
  {
    id: "classic-implicit-dereg-keeps-child-mtt",
    design: "classic",
    kinds: ["device_translation_outlives_frame"],
    messageIncludes: ["(mr_leaf_free unmapped it and zapped no MTT entry)"],
    title:
      "deregistering an implicit MR (v5.3 mlx5_ib_free_implicit_mr) unmaps each child's pages " +
      "in mr_leaf_free without zapping its MTT while the parent's KSM still leads to it: an " +
      "munmap racing the deregistration finds nothing mapped, zaps nothing, and frees a page " +
      "the device still translates",
    scenario: "examples/20-implicit-dereg-vs-munmap.yaml",
    test: "test/rdma/mlx5/hmmMirrorImplicit.test.ts",
  },
  {
    id: "hmm-mirror-implicit-dereg-keeps-child-mtt",
    design: "hmm-mirror",
    kinds: ["device_translation_outlives_frame"],
    messageIncludes: ["(mr_leaf_free unmapped it and zapped no MTT entry)"],
    title:
      "deregistering an implicit MR (the posting's mlx5_ib_free_implicit_mr, as v5.2) unmaps " +
      "each child's pages in mr_leaf_free without zapping its MTT while the parent's KSM " +
      "still leads to it: an munmap racing the deregistration frees a page the device still " +
      "translates",
    scenario: "examples/20-implicit-dereg-vs-munmap.yaml",
    test: "test/rdma/mlx5/hmmMirrorImplicit.test.ts",
  },
  {
    id: "hmm-mirror-raced-fault-fails",
    design: "hmm-mirror",
    // Kind only, so it would also take the posting's other QP error on valid memory: an
    // RDMA responder fault from an unaligned address, one page short (kept as posted,
    // hmmMirrorUnaligned.test.ts), which no scenario explored here reaches (scenario
    // files run no fault-progress oracle), so it is no finding of its own.
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
    kinds: [
      "device_use_after_free",
      "device_stale_translation",
      "device_translation_outlives_frame",
    ],
    // The mlx5 device's, not a dmirror's on the same mm (the soak's hmm-mirror program
    // 13275, a dmirror read of a freed page, was a model bug taken for this by kind).
    messageIncludes: ["mlx5_"],
    title:
      "the hmm-mirror posting's invalidation clears range->valid and zaps without " +
      "umem_mutex, so a fault that passed hmm_range_valid() publishes a page the zap cleared",
    scenario: "writeback-vs-odp",
    test: "test/rdma/mlx5/hmmMirrorOdp.test.ts",
  },
  {
    id: "hmm-mirror-map-closes-per-mm-cycle",
    design: "hmm-mirror",
    kinds: ["lock_order_inversion"],
    messageIncludes: ["mmap_lock -> umem_mutex here"],
    title:
      "lockdep on the hmm-mirror posting: its map_dma_pages takes umem_mutex under " +
      "mmap_sem, closing mmap_sem -> umem_mutex -> per_mm_list_lock -> mmap_sem (v5.2's " +
      "implicit_mr_get_data allocates a child under the root's umem_mutex, the posted " +
      "alloc_per_mm registers under per_mm_list_lock); one lock class, no deadlock",
    scenario: "fuzz/findings/finding-hmm-mirror-lock_order_inversion-2.yaml",
    test: "test/rdma/mlx5/hmmMirrorFindings.test.ts",
  },
  {
    id: "hmm-mirror-child-closes-per-mm-cycle",
    design: "hmm-mirror",
    kinds: ["lock_order_inversion"],
    messageIncludes: ["umem_mutex -> per_mm_list_lock here"],
    title:
      "the same lockdep cycle as hmm-mirror-map-closes-per-mm-cycle, closed at the other " +
      "edge: an implicit child allocated (per_mm_list_lock) under the root's umem_mutex " +
      "after a fault took umem_mutex under mmap_sem",
    scenario: "fuzz/findings/finding-hmm-mirror-lock_order_inversion-2.yaml",
    test: "test/rdma/mlx5/hmmMirrorFindings.test.ts",
  },
  {
    id: "hmm-mirror-self-deadlock",
    design: "hmm-mirror",
    kinds: ["recursive_locking"],
    // The same mutex again, not another of its class (lockdep's other recursive report).
    messageIncludes: ["acquires umem_mutex(umem_odp(", "it already holds"],
    title:
      "the hmm-mirror posting holds umem_mutex across hmm_range_dma_map(): a fault that " +
      "breaks copy-on-write (after fork, over the zero page, or of a private file page) " +
      "invalidates its own umem and takes umem_mutex again",
    scenario: "examples/18-hmm-mirror-self-deadlock.yaml",
    test: "test/rdma/mlx5/hmmMirrorFindings.test.ts",
  },
  {
    id: "hmm-mirror-release-leaks-implicit-children",
    design: "hmm-mirror",
    kinds: ["leak_at_teardown"],
    messageIncludes: ["umem_odp(implicit_child)"],
    title:
      "the posting's release trampoline marks every umem dying (v5.2, before " +
      "f591822c3cf3): an implicit child the mm's release empties is never queued for " +
      "freeing, and deregistration's mr_leaf_free skips it as dying",
    scenario: "fuzz/findings/finding-hmm-mirror-leak_at_teardown-3.yaml",
    test: "test/rdma/mlx5/hmmMirrorFindings.test.ts",
  },
  {
    id: "hmm-mirror-release-unlinks-mirror",
    design: "hmm-mirror",
    // Same kind and message as hmm-mirror-publish-after-zap: only its test (who freed
    // the page, and that the reaper reached no mirror) tells them apart.
    kinds: ["device_use_after_free"],
    messageIncludes: ["mlx5_"],
    title:
      "v5.2's hmm_release unlinks each mirror before calling its release, with " +
      "mirrors_sem dropped: an OOM reaper racing exit_mmap finds no mirror, so its " +
      "non-blockable invalidation frees pages the device maps until the release zaps them",
    scenario: "fuzz/findings/finding-hmm-mirror-device_use_after_free-7.yaml",
    test: "test/rdma/mlx5/hmmMirrorFindings.test.ts",
  },
  {
    id: "hmm-mirror-child-double-invalidate",
    design: "hmm-mirror",
    kinds: ["use_after_free"],
    messageIncludes: ["mr_leaf_free_action"],
    title:
      "v5.2's mlx5_ib_invalidate_range tests an emptied implicit child's dying flag with " +
      "no lock (catalog #14's shape): two invalidations both queue its free, and the work " +
      "runs again on the child it freed",
    scenario: "fuzz/findings/finding-hmm-mirror-use_after_free-15.yaml",
    test: "test/rdma/mlx5/hmmMirrorFindings.test.ts",
  },
  {
    id: "hmm-mirror-child-double-invalidate-hang",
    design: "hmm-mirror",
    kinds: ["deadlock"],
    messageIncludes: ["q_leaf_free"],
    title:
      "the other outcome of hmm-mirror-child-double-invalidate: the child's free is queued " +
      "once but counted twice in num_leaf_free, so deregistering the parent waits for ever",
    scenario: "implicit-child-double-invalidate",
    test: "test/rdma/mlx5/hmmMirrorFindings.test.ts",
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
  {
    id: "classic-release-drops-reaper-end",
    design: "classic",
    kinds: ["deadlock"],
    // A reader that no longer waits for anything holds it: the reaper (the fault plan's
    // or a program's oom_reap thread) that never got its end.
    messageIncludes: ["waits on rwsem umem_rwsem(", "(writer none, readers ["],
    title:
      "v5.3's per_mm notifier holds umem_rwsem for read from invalidate_range_start to its " +
      "end; the OOM victim's exit_mmap runs mmu_notifier_release, which unlinks the notifier, " +
      "while the reaper is between the two, so the reaper's end reaches no subscriber, the " +
      "rwsem stays read-held, and deregistering the MR (ib_umem_odp_release's down_write) " +
      "waits for ever",
    scenario: "fuzz/findings/finding-classic-deadlock-19.yaml",
    test: "test/rdma/mlx5/classicFindings.test.ts",
  },
  {
    id: "hmm-mirror-refusal-leaves-itree-open",
    design: "hmm-mirror",
    kinds: ["deadlock"],
    messageIncludes: ["waits on wait queue notifier_subscriptions(", ").wq"],
    title:
      "classic-refusal-leaves-itree-open with v5.2 hmm as the refusing mmu_notifier: the OOM " +
      "reaper's non-blockable start is counted by the interval tree (a dmirror) and refused " +
      "by hmm_invalidate_range_start, no end follows, and the exit's removal of the mirror's " +
      "interval notifier waits for ever (odpsim's notifier core is modern mm/mmu_notifier.c " +
      "in every design: the interval tree came in v5.5, after the posting)",
    scenario: "fuzz/findings/finding-hmm-mirror-deadlock-18.yaml",
    test: "test/rdma/mlx5/hmmMirrorFindings.test.ts",
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
