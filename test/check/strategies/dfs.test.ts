import assert from "node:assert/strict";
import { test } from "node:test";
import { explore } from "../../../src/check/explore.ts";
import { runScenario } from "../../../src/check/scenario.ts";
import { DfsSearch } from "../../../src/check/strategies/dfs.ts";
import { interleavingsScenario, lostWakeup } from "../../../src/check/toy/index.ts";

// A task of 2 steps yields once, then exits: 2 tasks x 2 steps have C(4,2) = 6
// interleavings. Under a bound of 1 preemption: 0011, 0110, 1001, 1100 (0101 and 1010
// need 2); under 0: 0011 and 1100 (the first pick is never a preemption).
const cases = [
  { tasks: 2, steps: 2, bound: Infinity, count: 6 },
  { tasks: 2, steps: 2, bound: 1, count: 4 },
  { tasks: 2, steps: 2, bound: 0, count: 2 },
  { tasks: 3, steps: 2, bound: Infinity, count: 90 }, // 6!/(2!2!2!)
  { tasks: 2, steps: 3, bound: Infinity, count: 20 }, // C(6,3)
] as const;

for (const c of cases) {
  test(`DFS exhausts ${c.tasks} tasks x ${c.steps} steps, bound ${c.bound}: ${c.count} schedules`, () => {
    const r = explore(interleavingsScenario(c.tasks, c.steps), {
      strategy: "dfs",
      schedules: 10_000,
      preemptionBound: c.bound,
    });
    assert.equal(r.distinctSchedules, c.count);
    assert.equal(r.schedulesRun, c.count);
    assert.equal(r.exhausted, true);
    assert.equal(r.found, false);
  });
}

test("DFS runs pairwise distinct schedules", () => {
  const scenario = interleavingsScenario(3, 2);
  const search = new DfsSearch();
  const seen = new Set<string>();
  for (let s = search.nextRun(); s !== null; s = search.nextRun()) {
    seen.add(runScenario(scenario, { seed: 0, strategy: s }).result.schedule.join(","));
    search.finishRun();
  }
  assert.equal(seen.size, 90);
});

test("DFS stopped by its budget says the space was not exhausted", () => {
  const r = explore(interleavingsScenario(3, 2), {
    strategy: "dfs",
    schedules: 10,
    preemptionBound: Infinity,
  });
  assert.equal(r.distinctSchedules, 10);
  assert.equal(r.exhausted, false);
});

test("DFS with one preemption finds the lost wake-up deadlock", () => {
  const r = explore(lostWakeup, { strategy: "dfs", schedules: 1000, preemptionBound: 1 });
  assert.equal(r.found, true);
  assert.equal(r.firstFailure?.violation.kind, "deadlock");
  const none = explore(lostWakeup, { strategy: "dfs", schedules: 1000, preemptionBound: 0 });
  assert.equal(none.found, false);
  assert.equal(none.exhausted, true);
});

test("DFS without sleep sets or with them prunes nothing on tasks that declare no footprint", () => {
  for (const reduction of ["none", "sleep-sets"] as const) {
    const r = explore(interleavingsScenario(3, 2), {
      strategy: "dfs",
      schedules: 10_000,
      preemptionBound: Infinity,
      reduction,
    });
    assert.equal(r.distinctSchedules, 90, reduction);
    assert.equal(r.prunedBranches, 0);
    assert.equal(r.prunedRuns, 0);
  }
});
