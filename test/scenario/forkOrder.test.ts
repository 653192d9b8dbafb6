/**
 * Fork against ODP invalidation in both fork orders (mm/fork.ts): the interval design
 * runs in today's order (->open before copy_page_range, v6.9+), classic in the order
 * before. The scenario races fork with device writes, COW breaks and a discard; every
 * schedule must be clean under both (README: 20,000 schedules each, `odpsim explore
 * test/scenario/fork-vs-odp.yaml --design D --schedules 20000`).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { explore } from "../../src/check/explore.ts";
import { loadScenario } from "../../src/scenario/compile.ts";

const BUDGET = 1000;

for (const design of ["interval", "classic"]) {
  test(`fork vs ODP invalidation (${design}): ${BUDGET} random schedules are clean`, () => {
    const scenario = loadScenario("test/scenario/fork-vs-odp.yaml");
    const r = explore(scenario, {
      strategy: "random",
      schedules: BUDGET,
      design,
      stopAtFirst: false,
    });
    assert.equal(r.firstInternalError, null);
    assert.deepEqual(r.failingIndices, []);
  });
}
