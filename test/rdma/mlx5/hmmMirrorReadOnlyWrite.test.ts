/**
 * A finding of the hmm-mirror posting (v5.2 hmm.c): a device write fault on a VMA that
 * allows reads only never returns. hmm_range_fault() asks handle_mm_fault() for a write
 * without checking VM_WRITE first (later kernels return -EPERM there), the PTE stays
 * read-only, the walk sees a write it still needs and faults again, and the loop goes
 * on while the range is valid. The other designs fail the fault and the QP errors.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadScenario } from "../../../src/scenario/compile.ts";
import { runOnce } from "../../../src/scenario/runOnce.ts";

const scenario = loadScenario("examples/04-invalidate-mprotect.yaml");

test("hmm-mirror: a device write to a read-only VMA loops in hmm_range_fault", () => {
  const { report, run } = runOnce(scenario, { seed: 0, design: "hmm-mirror", trace: true });
  assert.equal(report.status, "step_bound");
  assert.notEqual(report.verdict, "clean");
  const trace = run.kernel.trace;
  assert.ok(trace !== null);
  const steps = trace.entries.filter((e) => e.kind === "step").slice(-2000);
  const tasks = new Set(steps.map((e) => e.task));
  // Every one of the last steps is the fault worker's, walking and faulting the page.
  assert.equal(tasks.size, 1, `tasks ${[...tasks].join(", ")}`);
  const labels = new Set(steps.map((e) => e.label));
  assert.ok(
    [...labels].some((l) => l.startsWith("hmm_vma_handle_pte")),
    [...labels].join(", "),
  );
});

for (const design of ["classic", "interval"]) {
  test(`${design}: the same write fails its fault and the run ends`, () => {
    const { report } = runOnce(scenario, { seed: 0, design });
    assert.equal(report.status, "ok");
    assert.equal(report.verdict, "clean");
  });
}
