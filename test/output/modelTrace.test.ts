import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { faultVsInvalidate } from "../../src/check/catalog/scenarios/faultVsInvalidate.ts";
import { runScenario } from "../../src/check/scenario.ts";
import { deriveFaultRaces } from "../../src/output/faultRaces.ts";
import { toChromeTrace } from "../../src/output/perfetto.ts";
import { loadScenario } from "../../src/scenario/compile.ts";
import { runOnce } from "../../src/scenario/runOnce.ts";
import type { TraceEntry } from "../../src/sim/trace.ts";
import { UniformRandom } from "../../src/sim/strategies/uniformRandom.ts";
import { checkChromeTrace } from "./fixtures/chromeTraceChecks.ts";

test("a model run's Perfetto trace links each device fault to its resume and counts faults in flight", () => {
  const run = runScenario(faultVsInvalidate, {
    seed: 4,
    strategy: new UniformRandom(),
    trace: true,
    design: "classic",
  });
  const trace = run.result.trace;
  assert.ok(trace);
  const faults = trace.entries.filter((e) => e.label === "page_fault").length;
  assert.ok(faults > 0);
  const doc = toChromeTrace(trace, run.violations);
  checkChromeTrace(doc);
  const events = doc.traceEvents;
  const isRace = (name: string) => name.startsWith("race ");
  const starts = events.filter((e) => e.ph === "s" && !isRace(e.name));
  const ends = events.filter((e) => e.ph === "f" && !isRace(e.name));
  assert.equal(starts.length, faults, "one flow per fault");
  assert.deepEqual(
    ends.map((e) => e.id).sort(),
    starts.map((e) => e.id).sort(),
    "every flow that starts at a fault ends at its resume",
  );
  const counters = events.filter((e) => e.ph === "C" && e.name === "faults in flight");
  assert.equal(counters.length, 2 * faults);
  // Each fault that succeeded mapped its page: the umem's counter went up from zero.
  const mapped = events.filter((e) => e.ph === "C" && e.name.startsWith("pages mapped "));
  assert.ok(mapped.some((e) => (e.args as { value: number }).value > 0));
});

test("each invalidation that raced a fault is linked to that fault by a flow", () => {
  // Seed 0 of the example races the NIC's faults against madvise(DONTNEED) (scanned:
  // every one of the first 20 seeds has at least two races).
  const scenario = loadScenario("examples/10-catalog-no-retry-check.yaml");
  const { run } = runOnce(scenario, { seed: 0, trace: true });
  const trace = run.result.trace;
  assert.ok(trace);
  const doc = toChromeTrace(trace, run.violations);
  const flows = checkChromeTrace(doc);
  const races = deriveFaultRaces(trace.entries);
  assert.ok(races.length >= 2, `only ${races.length} races`);
  const raceStarts = doc.traceEvents.filter((e) => e.ph === "s" && e.name.startsWith("race "));
  assert.equal(raceStarts.length, races.length, "one flow per race");
  assert.ok(flows > races.length, "the fault-to-resume flows are still there");
  for (const race of races) {
    const fault: TraceEntry = trace.entries[race.faultIndex] as TraceEntry;
    const inv: TraceEntry = trace.entries[race.invalidationIndex] as TraceEntry;
    assert.equal(fault.label, "page_fault");
    assert.equal(inv.label, "invalidate_range_start");
    assert.equal(inv.fields?.mm, fault.fields?.mm, "the invalidation is of the MR's mm");
    // The flow ends on the track of whichever came second: fault or invalidation.
    const id = doc.traceEvents.find((e) => e.ph === "s" && e.name === `race ${race.faultFlow}`)?.id;
    assert.ok(id !== undefined);
    const tasks = doc.traceEvents.filter((e) => e.id === id && e.ph !== "M").map((e) => e.tid);
    assert.deepEqual([...tasks].sort(), [fault.task + 1, inv.task + 1].sort());
  }
});

test("every example's trace is well formed: fields, nesting per track, flows matched", () => {
  const files = readdirSync("examples").filter((f) => f.endsWith(".yaml"));
  for (const f of files) {
    const scenario = loadScenario(`examples/${f}`);
    for (let seed = 0; seed < 5; seed++) {
      const { run } = runOnce(scenario, { seed, trace: true });
      const trace = run.result.trace;
      assert.ok(trace, f);
      try {
        checkChromeTrace(toChromeTrace(trace, run.violations));
      } catch (error) {
        assert.fail(`${f} seed ${seed}: ${(error as Error).message}`);
      }
    }
  }
});
