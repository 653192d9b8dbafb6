/**
 * A campaign's programs depend on the seed and their index only: split into partitions
 * (workers, shards) the lowest failing index is the one a single campaign stops at, and
 * `from` goes on past a failure.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runCampaign } from "../../../src/scenario/fuzz/campaign.ts";
import { mergeResults } from "../../../src/scenario/fuzz/parallelCampaign.ts";

const base = {
  design: "classic",
  defects: ["classic-mr-before-umem"],
  // A seed whose first 40 programs find the defect (seed 3's stopped finding it when the
  // language gained reg_mr, which changed every swarm draw).
  seed: 6,
  programs: 40,
  maxShrinks: 0,
} as const;

test("two partitions find the first failure a single campaign finds", () => {
  const one = runCampaign(base);
  assert.ok(one.failure !== null, "the defect is found within 40 programs");
  const parts = [0, 1].map((residue) =>
    runCampaign({ ...base, partition: { modulus: 2, residue } }),
  );
  const merged = mergeResults(parts);
  assert.equal(merged.failure?.program, one.failure.program);
  assert.equal(merged.failure.key, one.failure.key);
  assert.deepEqual(merged.failure.original, one.failure.original);
});

test("from goes on after a failure, to the next failing index", () => {
  const first = runCampaign(base);
  assert.ok(first.failure !== null);
  const next = runCampaign({ ...base, from: first.failure.program + 1 });
  if (next.failure !== null) assert.ok(next.failure.program > first.failure.program);
  assert.ok(next.programsRun <= base.programs - first.failure.program - 1);
});
