import assert from "node:assert/strict";
import { test } from "node:test";
import { odpsim } from "./odpsim.ts";

const base = ["explore", "fault-vs-invalidate", "--strategy", "dfs", "--preemption-bound", "0"];

test("explore --strategy dfs --json reports the schedule count, exhaustion and pruning", () => {
  const r = odpsim(...base, "--schedules", "5000", "--reduction", "none", "--json");
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { schedulesRun: number; dfs: Record<string, unknown> };
  assert.deepEqual(out.dfs, {
    schedules: out.schedulesRun,
    exhausted: true,
    preemptionBound: 0,
    reduction: "none",
    prunedBranches: 0,
    prunedRuns: 0,
  });
});

test("explore --strategy dfs says when the budget ran out before the space did", () => {
  const r = odpsim(...base, "--schedules", "3");
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /dfs: 3 schedules; space under preemption bound 0 not exhausted; sleep sets pruned/,
  );
  assert.equal(odpsim(...base, "--reduction", "dpor").code, 2);
});
