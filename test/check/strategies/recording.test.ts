import assert from "node:assert/strict";
import { test } from "node:test";
import { runScenario } from "../../../src/check/scenario.ts";
import { GuidedReplay } from "../../../src/check/strategies/guidedReplay.ts";
import { Recording } from "../../../src/check/strategies/recording.ts";
import { interleavingsScenario } from "../../../src/check/toy/index.ts";
import { ReplaySchedule } from "../../../src/sim/strategies/replay.ts";

const twoByThree = interleavingsScenario(2, 3);

function record(schedule: number[]): Recording {
  const recording = new Recording(new ReplaySchedule(schedule));
  runScenario(twoByThree, { seed: 0, strategy: recording });
  return recording;
}

test("a switch away from a task that can still run is a preemption; after its exit it is not", () => {
  assert.deepEqual(record([0, 0, 0, 1, 1, 1]).preemptionSteps, []);
  assert.deepEqual(record([0, 1, 1, 1, 0, 0]).preemptionSteps, [1]);
  assert.deepEqual(record([0, 1, 0, 1, 0, 1]).preemptionSteps, [1, 2, 3, 4]);
  assert.deepEqual(record([1, 1, 1, 0, 0, 0]).preemptionSteps, []);
});

test("guided replay fills gaps and the tail by continuing the current task", () => {
  const recording = new Recording(new GuidedReplay([1, 0]));
  const { result } = runScenario(twoByThree, { seed: 0, strategy: recording });
  assert.deepEqual([...result.schedule], [1, 0, 0, 0, 1, 1]);
  assert.equal(recording.preemptions, 1);
  assert.deepEqual(recording.decisionSteps, [0, 1]);
});
