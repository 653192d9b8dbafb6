/**
 * mergeAnswers on hand-made shard answers: the cases a real scenario does not give on
 * demand (internal errors, step-bound runs on both sides of the answer, duplicates).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ExploreAnswer } from "../../src/cli/merge/answerSchema.ts";
import { mergeAnswers, type ShardAnswer } from "../../src/cli/merge/mergeAnswers.ts";
import { UsageError } from "../../src/cli/usageError.ts";

const SEARCH = {
  scenario: "toy",
  scenarioHash: "0123456789abcdef",
  design: "classic",
  defects: [],
  strategy: "random",
  timing: "free",
  seed: 0,
  schedules: 100,
  faults: null,
} as const;

/** Shard k of n that ran `ran` schedules and saw what `more` says. */
function shard(k: number, n: number, ran: number, more: Partial<ExploreAnswer> = {}): ShardAnswer {
  const answer: ExploreAnswer = {
    verdict: "clean",
    found: false,
    schedulesRun: ran,
    inconclusive: more.inconclusiveIndices?.length ?? 0,
    inconclusiveIndices: [],
    seconds: 1,
    search: { ...SEARCH, defects: [] },
    shard: `${k}/${n}`,
    ...more,
  };
  return { file: `s${k}.json`, answer };
}

const failureAt = (index: number): Partial<ExploreAnswer> => ({
  verdict: "violation",
  found: true,
  index,
  seed: 7,
  schedulesToFind: index + 1,
  violation: { kind: "use_after_free", message: `at ${index}` },
  report: `report of ${index}`,
  token: `token-${index}`,
});

const errorAt = (index: number): Partial<ExploreAnswer> => ({
  verdict: "internal_error",
  internalError: { index, seed: 3, message: "boom", token: `error-${index}` },
});

test("a failure below every internal error wins; the errors above it are still listed", () => {
  const m = mergeAnswers([shard(1, 2, 3, errorAt(4)), shard(2, 2, 2, failureAt(3))]);
  assert.equal(m.verdict, "violation");
  assert.equal(m.answer.index, 3);
  assert.equal(m.answer.token, "token-3");
  assert.equal(m.answer.schedulesRun, 4, "indices 0..3, as one process runs them");
  assert.equal("shard" in m.answer, false);
  assert.deepEqual(m.answer.merge.internalErrors, [{ shard: "1/2", index: 4, token: "error-4" }]);
});

test("an internal error below the lowest failure is the answer: the search stops there", () => {
  const m = mergeAnswers([shard(1, 2, 2, errorAt(2)), shard(2, 2, 3, failureAt(5))]);
  assert.equal(m.verdict, "internal_error");
  assert.equal(m.answer.found, false);
  assert.equal(m.answer.index, undefined, "the failure above the error is dropped");
  assert.equal(m.answer.schedulesRun, 3);
});

test("step-bound runs count below the answer's index and not above it", () => {
  const m = mergeAnswers([
    shard(1, 2, 4, { ...failureAt(6), inconclusiveIndices: [0, 2] }),
    shard(2, 2, 50, { inconclusiveIndices: [1, 9, 41] }),
  ]);
  assert.equal(m.verdict, "violation");
  assert.deepEqual(m.answer.inconclusiveIndices, [0, 1, 2]);
  assert.equal(m.answer.inconclusive, 3);
  assert.equal(m.answer.merge.schedulesRunByShards, 54);
});

test("no failure and step-bound runs: inconclusive, never clean", () => {
  const m = mergeAnswers([shard(1, 2, 50), shard(2, 2, 50, { inconclusiveIndices: [13] })]);
  assert.equal(m.verdict, "inconclusive");
  assert.equal(m.answer.schedulesRun, 100);
});

test("a missing shard that owns nothing below the answer leaves it complete", () => {
  const m = mergeAnswers([shard(1, 4, 1, failureAt(0)), shard(2, 4, 25), shard(4, 4, 25)]);
  assert.equal(m.verdict, "violation");
  assert.deepEqual(m.answer.merge.missing, ["3/4"]);
  assert.equal(m.answer.merge.complete, true);
});

test("the same shard twice: kept once if the answers agree, refused if they differ", () => {
  const same = mergeAnswers([shard(1, 2, 50), shard(2, 2, 50), shard(2, 2, 50)]);
  assert.equal(same.verdict, "clean");
  assert.equal(same.answer.schedulesRun, 100);
  assert.throws(
    () => mergeAnswers([shard(1, 2, 50), shard(2, 2, 50), shard(2, 2, 3, failureAt(5))]),
    (e: unknown) =>
      e instanceof UsageError && /both answer shard 2\/2, differently/.test(e.message),
  );
});

test("a dfs answer is refused: dfs does not shard", () => {
  const dfs = shard(1, 1, 10);
  const answer = { ...dfs.answer, search: { ...dfs.answer.search, strategy: "dfs" as const } };
  assert.throws(
    () => mergeAnswers([{ file: "d.json", answer }]),
    (e: unknown) => e instanceof UsageError && /d\.json: a dfs search/.test(e.message),
  );
});

test("an answer naming a schedule its shard does not own is refused", () => {
  assert.throws(
    () => mergeAnswers([shard(1, 2, 50), shard(2, 2, 3, failureAt(4))]),
    (e: unknown) =>
      e instanceof UsageError && /s2\.json: schedule 4 is not shard 2\/2's/.test(e.message),
  );
});
