/**
 * The posted hmm-mirror design holds umem_mutex across hmm_range_dma_map(), so a device
 * write fault that breaks copy-on-write invalidates its own umem and takes the mutex again
 * (README, "What exploration found"). Every schedule of the example shows it; the designs
 * that fault without the mutex (classic's get_user_pages, interval's hmm_range_fault before
 * taking it) stay clean on the same scenario.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { explore } from "../../src/check/explore.ts";
import { loadScenario } from "../../src/scenario/compile.ts";

const FILE = "examples/18-hmm-mirror-self-deadlock.yaml";
const BUDGET = 100;

test("hmm-mirror as posted: a COW-breaking device write fault takes umem_mutex twice, in every schedule", () => {
  const r = explore(loadScenario(FILE), {
    strategy: "random",
    schedules: BUDGET,
    design: "hmm-mirror",
    defects: [],
    stopAtFirst: false,
  });
  assert.equal(r.firstInternalError, null);
  assert.equal(r.failingIndices.length, BUDGET);
  assert.equal(r.firstFailure?.violation.kind, "recursive_locking");
  assert.match(r.firstFailure.violation.message, /umem_mutex/);
});

for (const design of ["classic", "interval"]) {
  test(`${design}: the same fork and COW-breaking device writes are clean`, () => {
    const r = explore(loadScenario(FILE), {
      strategy: "random",
      schedules: BUDGET,
      design,
      defects: [],
      stopAtFirst: false,
    });
    assert.equal(r.verdict, "clean");
  });
}
