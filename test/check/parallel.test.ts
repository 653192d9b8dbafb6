import assert from "node:assert/strict";
import { test } from "node:test";
import { explore } from "../../src/check/explore.ts";
import { exploreParallel } from "../../src/check/parallel.ts";
import { mergeSummaries, summarize } from "../../src/check/summary.ts";
import { flagRace } from "../../src/check/toy/index.ts";

const ref = {
  module: new URL("../../src/check/toy/flagRace.ts", import.meta.url).href,
  exportName: "flagRace",
};

function outcome(r: { failingIndices: readonly number[]; schedulesToFind: number | null }) {
  return { failing: r.failingIndices, first: r.schedulesToFind };
}

test("1 and 2 workers find the same failing indices and the same first failure", async () => {
  const options = { strategy: "pct", schedules: 1500, seed: 0, stopAtFirst: false } as const;
  const one = await exploreParallel(ref, { ...options, workers: 1 });
  const two = await exploreParallel(ref, { ...options, workers: 2 });
  assert.ok(one.failingIndices.length > 0);
  assert.deepEqual(outcome(two), outcome(one));
  assert.deepEqual(two.firstFailure?.schedule, one.firstFailure?.schedule);
  assert.equal(two.firstFailure?.violation.kind, "flag_race");
  // And the same as a single in-process search.
  assert.deepEqual(outcome(explore(flagRace, options)), outcome(one));
  // Stopping at the first failure: same lowest index whatever the worker count.
  const firstOne = await exploreParallel(ref, { ...options, stopAtFirst: true, workers: 1 });
  const firstTwo = await exploreParallel(ref, { ...options, stopAtFirst: true, workers: 2 });
  assert.deepEqual(outcome(firstTwo), outcome(firstOne));
  assert.equal(firstOne.schedulesToFind, one.schedulesToFind);
});

test("shards merge to the whole search", () => {
  const options = { strategy: "random", schedules: 3000, seed: 4, stopAtFirst: false } as const;
  const whole = summarize(explore(flagRace, options));
  const shards = [0, 1, 2].map((residue) =>
    summarize(explore(flagRace, { ...options, partition: { modulus: 3, residue } })),
  );
  const merged = mergeSummaries(shards, false);
  assert.deepEqual(merged.failingIndices, whole.failingIndices);
  assert.deepEqual(merged.firstFailure, whole.firstFailure);
  assert.equal(merged.schedulesRun, 3000);
});

test("DFS refuses to run on several workers", async () => {
  await assert.rejects(
    exploreParallel(ref, { strategy: "dfs", schedules: 10, workers: 2 }),
    /dfs is a sequential search/,
  );
});

test("workers report progress: counts rise to the schedules run, and results are unchanged", async () => {
  const options = { strategy: "random", schedules: 1000, seed: 0, stopAtFirst: false } as const;
  const heard: number[] = [];
  const withProgress = await exploreParallel(ref, {
    ...options,
    workers: 2,
    onProgress: (n) => heard.push(n),
  });
  const without = await exploreParallel(ref, { ...options, workers: 2 });
  assert.ok(heard.length > 1, `progress heard ${heard.length} times`);
  for (let i = 1; i < heard.length; i++) assert.ok((heard[i] ?? 0) >= (heard[i - 1] ?? 0));
  assert.ok((heard.at(-1) ?? 0) <= withProgress.schedulesRun);
  assert.ok((heard.at(-1) ?? 0) >= withProgress.schedulesRun - 2 * 64);
  assert.deepEqual(outcome(withProgress), outcome(without));
});
