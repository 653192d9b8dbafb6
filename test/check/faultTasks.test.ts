/**
 * The catalog's fault tasks (src/check/faultTasks.ts) count their time from the end of
 * the scenario's setup (`setupDone` in src/check/catalog/scenarios/odpHost.ts): none
 * fires while the setup still runs, and no catalog scenario forgets to start the clock
 * (its tasks would then wait forever and never fire).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { CATALOG, entryDefects, type CatalogEntry } from "../../src/check/catalog/catalog.ts";
import { odpHostOf } from "../../src/check/catalog/scenarios/odpHost.ts";
import type { FaultSite } from "../../src/check/faults.ts";
import { runScenario } from "../../src/check/scenario.ts";
import { UniformRandom } from "../../src/sim/strategies/uniformRandom.ts";

const TASK_SITES: readonly FaultSite[] = [
  "nonblockable_invalidate",
  "process_kill",
  "device_removal",
];
const SEEDS = 20;

/** One entry per catalog scenario (its first design). */
function scenarios(): CatalogEntry[] {
  const seen = new Set<string>();
  return CATALOG.filter((e) => !seen.has(e.scenario.name) && seen.add(e.scenario.name));
}

function run(entry: CatalogEntry, site: FaultSite, seed: number) {
  return runScenario(entry.scenario, {
    seed,
    strategy: new UniformRandom(),
    // As the explorer runs them: timers are scheduling choices, so a task's drawn time
    // does not alone decide whether it comes before the scenario's own end.
    timing: "free",
    design: entry.design,
    defects: entryDefects(entry, true),
    faults: { sites: [site], probability: 1 },
    trace: true,
  });
}

for (const site of TASK_SITES) {
  test(`${site}: every catalog scenario on an ODP host fires its fault task after setup`, () => {
    let hosts = 0;
    for (const entry of scenarios()) {
      const name = `${entry.scenario.name} (${entry.design})`;
      let fired = false;
      for (let seed = 0; seed < SEEDS && !fired; seed++) {
        const r = run(entry, site, seed);
        const host = odpHostOf(r.kernel);
        if (host === undefined) break; // not on the catalog's host: no fault tasks
        if (seed === 0) hosts++;
        assert.notEqual(r.result.status, "internal_error", `${name} seed ${seed}`);
        // A setup that never started the clock would leave its fault tasks blocked.
        assert.deepEqual(
          r.violations.filter((v) => v.kind === "deadlock").map((v) => v.message),
          [],
          `${name} seed ${seed}`,
        );
        fired = r.kernel.faultsInjected > 0;
      }
      if (odpHostOf(run(entry, site, 0).kernel) !== undefined) {
        assert.ok(fired, `${name}: no ${site} fault in ${SEEDS} seeds`);
      }
    }
    assert.ok(hosts >= 10, `only ${hosts} catalog scenarios on an ODP host`);
  });
}

test("a fault task's time counts from the end of the setup, not from the machine's start", () => {
  // A zero-cost device: its fault window is a few ns, well inside the setup's time.
  const entry = CATALOG.find((e) => e.scenario.name === "implicit-release-vs-exit");
  assert.ok(entry);
  for (let seed = 0; seed < SEEDS; seed++) {
    const trace = run(entry, "device_removal", seed).result.trace;
    assert.ok(trace !== null);
    const setup = trace.tasks.find((t) => t.name === "setup");
    assert.ok(setup !== undefined);
    const setupEnd = Math.max(
      ...trace.entries.filter((e) => e.task === setup.id).map((e) => e.step),
    );
    const unplug = trace.entries.find((e) => e.label === "fault_injected");
    assert.ok(unplug !== undefined, `seed ${seed}: no unplug`);
    assert.ok(
      unplug.step > setupEnd,
      `seed ${seed}: unplug at step ${unplug.step}, setup to ${setupEnd}`,
    );
  }
});
