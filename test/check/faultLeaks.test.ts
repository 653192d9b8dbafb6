/**
 * Fault injection at every named site over the catalog's scenarios, judged by the
 * teardown oracle (src/check/oracles/teardownLeaks.ts): in the fixed designs (no defect
 * of the entry on, its era kept), a scenario that tears everything down when no fault is
 * injected must still leave no umem, per-mm, MR or hmm behind when one is. Scenarios
 * that end with their MR still registered (fault-vs-invalidate, ...) leak by design and
 * are told apart by their fault-free runs, measured here, not listed.
 *
 * The catalog's fault tasks count their time from the end of a scenario's setup
 * (src/check/faultTasks.ts): a SIGKILL that once came mid-setup left the MR the setup
 * then registered in a file no one closed, a leak of the harness, not of a design.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { CATALOG, entryDefects, type CatalogEntry } from "../../src/check/catalog/catalog.ts";
import { FAULT_SITES, type FaultSite } from "../../src/check/faults.ts";
import { teardownLeaks } from "../../src/check/oracles/teardownLeaks.ts";
import { runScenario } from "../../src/check/scenario.ts";
import { UniformRandom } from "../../src/sim/strategies/uniformRandom.ts";

const SEEDS = 50;
const RATE = 0.2;

/** One entry per scenario and design: the fixed design's runs are the same for each. */
function scenarioDesigns(): CatalogEntry[] {
  const seen = new Set<string>();
  return CATALOG.filter((e) => {
    const key = `${e.scenario.name}/${e.design}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The seeds whose run of `entry`'s fixed design leaks at teardown, under `site`. */
function leakingSeeds(entry: CatalogEntry, site: FaultSite | null): string[] {
  return faultRuns(entry, site).leaks;
}

/** `entry`'s fixed design under `site`: the leaking seeds and the faults injected. */
function faultRuns(entry: CatalogEntry, site: FaultSite | null) {
  const leaks: string[] = [];
  let injected = 0;
  for (let seed = 0; seed < SEEDS; seed++) {
    const run = runScenario(entry.scenario, {
      seed,
      strategy: new UniformRandom(),
      design: entry.design,
      defects: entryDefects(entry, true),
      ...(site === null ? {} : { faults: { sites: [site], probability: RATE } }),
    });
    injected += run.kernel.faultsInjected;
    const leak = teardownLeaks(run.kernel, run.result)[0];
    if (leak !== undefined) leaks.push(`seed ${seed}: ${leak.message}`);
  }
  return { leaks, injected };
}

/** The scenarios (with their design) whose fault-free runs all tear down cleanly. */
const tornDown = scenarioDesigns().filter((e) => leakingSeeds(e, null).length === 0);

test("the scenarios that tear down include the deregistration and exit races", () => {
  assert.ok(tornDown.length >= 10, `only ${tornDown.length} scenarios tear down`);
  const names = new Set(tornDown.map((e) => e.scenario.name));
  for (const name of ["fault-vs-dereg", "prefetch-vs-dereg", "implicit-release-vs-exit"]) {
    assert.ok(names.has(name), `${name} leaks with no fault injected`);
  }
});

for (const site of FAULT_SITES) {
  test(`${site} faults leave nothing behind in the fixed designs`, () => {
    const runs = tornDown.map((e) => ({ e, ...faultRuns(e, site) }));
    // Faults that never fire would prove nothing.
    assert.ok(runs.reduce((n, r) => n + r.injected, 0) >= 10, `few ${site} faults injected`);
    const leaks = runs.flatMap(({ e, leaks }) =>
      leaks.map((l) => `${e.scenario.name} (${e.design}) ${l}`),
    );
    assert.deepEqual(leaks, []);
  });
}
