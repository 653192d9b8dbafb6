/**
 * The catalog entries written as scenario files (examples/catalog/): each file names
 * one catalog defect and the violation it causes. Random exploration finds that
 * violation within the budget with the file's defects on; with them off (the fixed
 * kernel, the entry's era kept) every schedule of the same budget is clean.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { catalogEntry, showsEntry } from "../../src/check/catalog/catalog.ts";
import { explore } from "../../src/check/explore.ts";
import { loadScenario } from "../../src/scenario/compile.ts";

const DIR = "examples/catalog";
const BUDGET = 1500;

const files = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

for (const f of files) {
  const scenario = loadScenario(`${DIR}/${f}`);
  const id = f.replace(/\.yaml$/, "");
  const entry = catalogEntry(id);
  const design = scenario.spec.design ?? "classic";

  test(`catalog/${f}: names catalog entry ${id}, its design and its defect`, () => {
    assert.ok(entry !== undefined, `no catalog entry ${id}`);
    assert.equal(design, entry.design);
    assert.deepEqual(scenario.spec.defects, [id]);
    assert.ok(scenario.expectedViolation !== null);
    // The file shows the entry's bug: its expected kind or another of its symptoms.
    assert.ok(showsEntry(entry, scenario.expectedViolation), scenario.expectedViolation);
  });

  test(`catalog/${f}: random exploration finds ${String(scenario.expectedViolation)} within ${BUDGET} schedules`, () => {
    const r = explore(scenario, { strategy: "random", schedules: BUDGET, design, defects: [id] });
    assert.equal(r.firstInternalError, null);
    assert.equal(r.firstFailure?.violation.kind, scenario.expectedViolation);
  });

  test(`catalog/${f}: clean over ${BUDGET} schedules without the defect`, () => {
    const era = entry?.era ?? [];
    const r = explore(scenario, {
      strategy: "random",
      schedules: BUDGET,
      design,
      defects: [...era],
      stopAtFirst: false,
    });
    assert.equal(r.firstInternalError, null);
    assert.deepEqual(r.failingIndices, []);
  });
}
