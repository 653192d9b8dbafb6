/**
 * A finding of the mmap-entry uverbs design in today's fork order (README, "What
 * exploration found"): since 35e351780fa9 ("fork: defer linking file vma until vma is
 * fully initialized", v6.9) dup_mmap() calls ->open before copy_page_range(). When the
 * fork races disassociation, rdma_umap_open() cannot take hw_destroy_rwsem and zaps the
 * copy, which is still empty; copy_page_range() then copies the doorbell's pfn PTEs into
 * it. The copy is tracked by no uverbs file, so disassociation never zaps it and the
 * child keeps storing to a BAR that is about to go. In the order before v6.9 the zap
 * came after the copy, and the same scenario is clean.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { explore } from "../../../../src/check/explore.ts";
import { runScenario } from "../../../../src/check/scenario.ts";
import { uverbsForkUnplug } from "../../../../src/check/catalog/uverbs/index.ts";
import { ReplaySchedule } from "../../../../src/sim/strategies/replay.ts";
import { withForkOrder } from "./fixture.ts";

const BUDGET = 400;

test("uverbs entry design, v6.9+ fork order: fork racing disassociation leaves the child an untracked doorbell mapping", () => {
  const r = explore(uverbsForkUnplug, { strategy: "random", schedules: BUDGET, design: "entry" });
  assert.equal(r.firstInternalError, null);
  const f = r.firstFailure;
  assert.ok(f !== null, `not found in ${BUDGET} schedules`);
  assert.equal(f.violation.kind, "untracked_io_vma");
  // The replay shows why: the child's ->open zapped its copy before the PTEs came.
  const run = runScenario(uverbsForkUnplug, {
    seed: f.seed,
    strategy: new ReplaySchedule(f.schedule),
    trace: true,
    design: "entry",
  });
  const events = run.kernel.trace?.entries.filter((e) => e.kind === "event") ?? [];
  const zap = events.findIndex(
    (e) => e.label === "rdma_umap_open zaps the copy" && e.fields?.why === "racing disassociation",
  );
  const bug = events.findIndex((e) => e.label === "violation");
  assert.ok(zap >= 0 && zap < bug, "rdma_umap_open zapped the copy before the violation");
});

test("uverbs entry design, fork order before v6.9: the same exploration is clean", () => {
  const r = explore(withForkOrder(uverbsForkUnplug, false), {
    strategy: "random",
    schedules: BUDGET,
    design: "entry",
    stopAtFirst: false,
  });
  assert.equal(r.firstInternalError, null);
  assert.deepEqual(r.failingIndices, []);
});
