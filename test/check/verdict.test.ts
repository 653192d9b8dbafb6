/**
 * A verdict never lies: an odpsim internal error stops the search and is its verdict, a
 * run cut off by the step bound makes a search that found nothing inconclusive, and the
 * merged answer of a split search is the sequential search's.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { explore } from "../../src/check/explore.ts";
import { replayRecorded } from "../../src/check/replay.ts";
import type { Scenario } from "../../src/check/scenario.ts";
import { mergeSummaries, summarize } from "../../src/check/summary.ts";
import { toyGroup, toyKernel } from "../../src/check/toy/common.ts";
import { verdictOf } from "../../src/check/verdict.ts";
import type { KGen } from "../../src/sim/task.ts";

/** Two tasks; odpsim "crashes" (a plain Error) when b runs before a has. */
const crashy: Scenario = {
  name: "crashy",
  description: "test: b throws a plain Error unless a ran first",
  build(ctx) {
    const k = toyKernel(ctx);
    const state = { a: false };
    k.spawn("a", toyGroup, () => a(state));
    k.spawn("b", toyGroup, () => b(state));
    return k;
  },
};

function* a(state: { a: boolean }): KGen {
  yield "a1";
  state.a = true;
  yield "a2";
}

function* b(state: { a: boolean }): KGen {
  yield "b1";
  if (!state.a) throw new Error("odpsim bug: b ran first");
  yield "b2";
}

/** A task that never stops: every run hits the step bound. */
const spinner: Scenario = {
  name: "spinner",
  description: "test: one task spins for ever",
  build(ctx) {
    const k = toyKernel(ctx);
    k.spawn("spin", toyGroup, () => spin());
    return k;
  },
};

function* spin(): KGen {
  for (;;) yield "spin";
}

test("an internal error stops the search and is its verdict, with a schedule that replays it", () => {
  const r = explore(crashy, { strategy: "random", schedules: 500, stopAtFirst: false });
  assert.equal(r.verdict, "internal_error");
  assert.equal(r.found, false);
  const e = r.firstInternalError;
  assert.ok(e !== null);
  assert.equal(r.schedulesRun, e.index + 1, "nothing after the error was run");
  assert.match(e.error.message, /b ran first/);
  assert.ok(e.error.stack !== undefined);
  const again = replayRecorded(crashy, { seed: e.seed, schedule: e.schedule, timing: r.timing });
  assert.equal(again.result.internalError?.message, e.error.message);
});

test("runs cut off by the step bound make a search inconclusive, never clean", () => {
  const r = explore(spinner, { strategy: "random", schedules: 20 });
  assert.equal(r.verdict, "inconclusive");
  assert.equal(r.found, false);
  assert.deepEqual(
    r.inconclusiveIndices,
    Array.from({ length: 20 }, (_, i) => i),
  );
});

test("verdict precedence: internal error, then violation, then inconclusive, then clean", () => {
  const seen = (internalError: boolean, violation: boolean, inconclusive: boolean) =>
    verdictOf({ internalError, violation, inconclusive });
  assert.equal(seen(true, true, true), "internal_error");
  assert.equal(seen(false, true, true), "violation");
  assert.equal(seen(false, false, true), "inconclusive");
  assert.equal(seen(false, false, false), "clean");
});

test("split searches merge to the sequential answer: what lies past its stop is dropped", () => {
  const options = { strategy: "random", schedules: 500 } as const;
  const whole = explore(crashy, options);
  const parts = [0, 1, 2].map((residue) =>
    summarize(explore(crashy, { ...options, partition: { modulus: 3, residue } })),
  );
  const merged = mergeSummaries(parts);
  assert.equal(merged.verdict, whole.verdict);
  assert.equal(merged.firstInternalError?.index, whole.firstInternalError?.index);
  const spun = [0, 1].map((residue) =>
    summarize(
      explore(spinner, { strategy: "random", schedules: 10, partition: { modulus: 2, residue } }),
    ),
  );
  assert.deepEqual(mergeSummaries(spun).inconclusiveIndices, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(mergeSummaries(spun).verdict, "inconclusive");
});
