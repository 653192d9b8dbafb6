import assert from "node:assert/strict";
import { test } from "node:test";
import { faultVsInvalidate } from "../../src/check/catalog/scenarios/faultVsInvalidate.ts";
import { runScenario } from "../../src/check/scenario.ts";
import { toChromeTrace } from "../../src/output/perfetto.ts";
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
  const starts = events.filter((e) => e.ph === "s");
  const ends = events.filter((e) => e.ph === "f");
  assert.equal(starts.length, faults, "one flow per fault");
  assert.deepEqual(
    ends.map((e) => e.id).sort(),
    starts.map((e) => e.id).sort(),
    "every flow that starts at a fault ends at its resume",
  );
  const counters = events.filter((e) => e.ph === "C" && e.name === "faults in flight");
  assert.equal(counters.length, 2 * faults);
});
