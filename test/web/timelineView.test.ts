import assert from "node:assert/strict";
import { test } from "node:test";
import type { RunFile } from "../../src/output/runFile.ts";
import { StepScale, initialStep, runSliceOf, viewOf } from "../../web/src/timelineView.ts";
import { staleRace } from "../output/fixtures/staleRace.ts";

/** staleRace's run with a causal slice, as failureArtifacts writes one. */
function withSlice(run: RunFile, steps: number[], setupEnd: number): RunFile {
  return { ...run, slice: { steps, windowStart: setupEnd, setupEnd, objects: [], rows: [] } };
}

test("a run opens at its violation; without one at step 0", () => {
  const { run } = staleRace();
  assert.equal(initialStep(run), 10);
  assert.equal(initialStep({ ...run, violations: [] }), 0);
});

test("the race window runs from just before the slice to the violation", () => {
  const run = withSlice(staleRace().run, [6, 8, 10], 3);
  assert.deepEqual(viewOf(run, "race"), { name: "race", from: 4, to: 11 });
  assert.deepEqual(viewOf(run, "run"), { name: "run", from: 3, to: 11 });
  assert.deepEqual(viewOf(run, "all"), { name: "all", from: 0, to: 11 });
});

test("a run file without a slice still folds its setup (the first step of a spawned task)", () => {
  const { run } = staleRace();
  const slice = runSliceOf(run);
  assert.deepEqual(slice.steps, []);
  assert.equal(viewOf(run, "run").from, slice.setupEnd);
});

test("folded steps share a narrow band; the view's steps share the rest", () => {
  const scale = new StepScale({ name: "race", from: 40, to: 50 }, 60, 664, 20);
  assert.deepEqual(
    scale.bands.map((b) => [b.from, b.to, b.label]),
    [
      [0, 40, "steps 0–39"],
      [50, 60, "steps 50–59"],
    ],
  );
  assert.equal(scale.columnWidth, (664 - 2 * 64) / 10);
  assert.equal(scale.x(40), 64);
  assert.equal(scale.stepAt(scale.x(45) + 1), 45);
  assert.ok(scale.x(10) < 64 && scale.widthOf(10) < 2, "a folded step is a sliver");
  assert.equal(scale.stepAt(10), 6);
  assert.equal(scale.stepAt(663), 59);
  const setup = new StepScale({ name: "run", from: 20, to: 60 }, 60, 600, 20);
  assert.equal(setup.bands[0]?.label, "setup · 20 steps");
  assert.equal(setup.bands.length, 1);
});
