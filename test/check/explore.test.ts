import assert from "node:assert/strict";
import { test } from "node:test";
import { estimatePctChoices, explore, seedFor } from "../../src/check/explore.ts";
import { Recording } from "../../src/check/strategies/recording.ts";
import { faultVsInvalidate } from "../../src/check/catalog/scenarios/faultVsInvalidate.ts";
import { runScenario } from "../../src/check/scenario.ts";
import {
  interleavings2x2,
  lockInversion,
  lostUpdate,
  lostWakeup,
} from "../../src/check/toy/index.ts";
import { UniformRandom } from "../../src/sim/strategies/uniformRandom.ts";

test("schedule i runs with seed seedFor(S, i), so a failing index reruns alone", () => {
  const r = explore(lostUpdate, { strategy: "random", schedules: 100, seed: 500 });
  const f = r.firstFailure;
  assert.ok(f !== null);
  assert.equal(f.seed, seedFor(500, f.index));
  const again = runScenario(lostUpdate, {
    seed: f.seed,
    strategy: new UniformRandom(),
    timing: r.timing,
  });
  assert.deepEqual(again.result.schedule, f.schedule);
  assert.equal(again.violations[0]?.kind, "lost_update");
});

test("the post-run oracle's lost_update is a failure; schedulesToFind is index + 1", () => {
  const r = explore(lostUpdate, { strategy: "random", schedules: 100, seed: 0 });
  assert.equal(r.found, true);
  const f = r.firstFailure;
  assert.ok(f !== null);
  assert.equal(f.violation.kind, "lost_update");
  assert.equal(r.schedulesToFind, f.index + 1);
  assert.equal(r.schedulesRun, r.schedulesToFind);
});

test("lockdep finds the ABBA order in the very first schedule", () => {
  const r = explore(lockInversion, { strategy: "pct", schedules: 10 });
  assert.equal(r.schedulesToFind, 1);
  assert.equal(r.firstFailure?.violation.kind, "lock_order_inversion");
});

test("a clean scenario runs every schedule and finds nothing", () => {
  const r = explore(interleavings2x2, { strategy: "random", schedules: 50 });
  assert.equal(r.found, false);
  assert.equal(r.schedulesRun, 50);
  assert.equal(r.schedulesToFind, null);
  assert.deepEqual(r.failingIndices, []);
});

test("partitions of the indices together find exactly the failures of the whole", () => {
  const options = { strategy: "pct", schedules: 300, seed: 9, stopAtFirst: false } as const;
  const whole = explore(lostWakeup, options).failingIndices;
  const parts = [0, 1, 2].flatMap(
    (residue) =>
      explore(lostWakeup, { ...options, partition: { modulus: 3, residue } }).failingIndices,
  );
  assert.ok(whole.length > 0);
  assert.deepEqual(
    [...parts].sort((a, b) => a - b),
    whole,
  );
});

test("PCT's k is the most choice points seen by the calibration runs", () => {
  let most = 0;
  for (let j = 0; j < 4; j++) {
    const recording = new Recording(new UniformRandom());
    runScenario(lostWakeup, { seed: seedFor(3, j), strategy: recording, timing: "free" });
    most = Math.max(most, recording.choicePoints);
  }
  // A step where only one task can run is no choice: fault-vs-invalidate has many, so
  // over a few seeds its runs choose at fewer than half of their steps.
  let choices = 0;
  let steps = 0;
  for (let seed = 0; seed < 10; seed++) {
    const recording = new Recording(new UniformRandom());
    const run = runScenario(faultVsInvalidate, { seed, strategy: recording });
    choices += recording.choicePoints;
    steps += run.result.steps;
  }
  assert.ok(choices < steps / 2, `${choices} choices in ${steps} steps`);
  assert.equal(estimatePctChoices(lostWakeup, { schedules: 1, seed: 3 }), most);
  const r = explore(lostWakeup, { strategy: "pct", schedules: 1, seed: 3 });
  assert.equal(r.pctChoices, most);
  // Given explicitly, k is used as is.
  assert.equal(
    explore(lostWakeup, { strategy: "pct", schedules: 1, pctChoices: 99 }).pctChoices,
    99,
  );
});

test("bad options are refused", () => {
  assert.throws(() => explore(lostUpdate, { schedules: -1 }), RangeError);
  assert.throws(
    () => explore(lostUpdate, { schedules: 5, partition: { modulus: 2, residue: 2 } }),
    RangeError,
  );
});
