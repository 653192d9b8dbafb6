import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { CATALOG, entryDefects, showsEntry, withEra } from "../../../src/check/catalog/catalog.ts";
import { explore } from "../../../src/check/explore.ts";

// A defect counts as found only when uniform random exploration of its scenario, from
// seed 0, reports the expected violation on its own; without the defect the same
// scenario must stay clean over the same budget.
const BUDGET = 1500;

for (const entry of CATALOG) {
  test(`catalog #${entry.number} ${entry.id}: found by random exploration within ${BUDGET} schedules`, () => {
    const r = explore(entry.scenario, {
      strategy: "random",
      schedules: BUDGET,
      design: entry.design,
      defects: entryDefects(entry),
    });
    assert.equal(r.firstInternalError, null);
    assert.equal(r.verdict, "violation", `${entry.id} not found in ${BUDGET} schedules`);
    const kind = r.firstFailure?.violation.kind ?? "";
    assert.ok(showsEntry(entry, kind), `${entry.id} showed ${kind}, not ${entry.expected}`);
  });

  test(`catalog #${entry.number} ${entry.id}: the fixed design is clean over ${BUDGET} schedules`, () => {
    const r = explore(entry.scenario, {
      strategy: "random",
      schedules: BUDGET,
      design: entry.design,
      defects: entryDefects(entry, true),
      stopAtFirst: false,
    });
    assert.equal(r.firstInternalError, null);
    assert.deepEqual(r.failingIndices, []);
    assert.equal(r.verdict, "clean");
  });
}

test("catalog ids are unique and every entry cites a fix", () => {
  const ids = CATALOG.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const e of CATALOG) assert.ok(e.fix.length > 0 && e.race.length > 0, e.id);
});

test("a catalog defect brings its era: --defect classic-no-retry-check runs with split umem_mutex holds", () => {
  assert.deepEqual(withEra(["classic-no-retry-check"]), [
    "odp-unmap-takes-umem-mutex",
    "classic-no-retry-check",
  ]);
  assert.deepEqual(withEra(["classic-no-live-check", "odp-unmap-takes-umem-mutex"]), [
    "classic-no-live-check",
    "odp-unmap-takes-umem-mutex",
  ]);
});

test("catalog numbers are unique, and the README's catalog table lists every entry with its number and design", () => {
  const numbers = CATALOG.map((e) => e.number);
  assert.equal(new Set(numbers).size, numbers.length);
  const readme = readFileSync("README.md", "utf8");
  for (const e of CATALOG) {
    const row = new RegExp(`^\\| ${e.number} +\\| ${e.id} +\\| ${e.design} +\\|`, "m");
    assert.match(readme, row, `README has no row for #${e.number} ${e.id}`);
  }
});

test("the fixes of the later entries name the kernel commits they undo", () => {
  for (const e of CATALOG.filter((x) => x.number >= 20)) {
    assert.match(e.fix, /\(([0-9a-f]{12}, )?v\d+\.\d+(-rc\d+)?\)/, e.id);
  }
});
