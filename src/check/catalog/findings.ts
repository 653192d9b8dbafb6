/**
 * What exploration found in the designs themselves, with no defect switched on: real
 * properties of the code a design reproduces, each tested and described in the README.
 *
 * Models no kernel file. A finding is never silenced: the catalog check still counts the
 * runs of a fixed design that show one, and says which finding they are; it only stops
 * them from being reported as an unexplained violation. Matching is by design and
 * violation kind, which is coarse: a new bug of the same kind in the same design would be
 * taken for the finding, so each finding's test pins where it shows.
 */

export interface Finding {
  readonly id: string;
  /** The design whose code has it (none of the catalog's defects switched on). */
  readonly design: string;
  /** The violation kinds it shows as. */
  readonly kinds: readonly string[];
  readonly title: string;
  /** A catalog scenario it shows in (findings.test.ts explores it there). */
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
];

/** The finding a fixed design's violation of `kind` is, if it is a documented one. */
export function findingOf(design: string, kind: string): Finding | undefined {
  return FINDINGS.find((f) => f.design === design && f.kinds.includes(kind));
}
