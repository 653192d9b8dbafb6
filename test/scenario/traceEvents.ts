/**
 * Helpers for scenario tests that read what a run did from its trace: compile inline
 * YAML, run it once traced (it must end ok, with no violation), and read each operation's return value
 * from its `NAME:end` event.
 */
import assert from "node:assert/strict";
import { runScenario } from "../../src/check/scenario.ts";
import type { TraceEntry } from "../../src/sim/trace.ts";
import { UniformRandom } from "../../src/sim/strategies/uniformRandom.ts";
import { compileScenario, type CompiledScenario } from "../../src/scenario/compile.ts";
import { parseScenarioText } from "../../src/scenario/parse.ts";

export function compile(text: string): CompiledScenario {
  return compileScenario(parseScenarioText(text, "inline.yaml"));
}

/** The trace events of one traced run that ended ok. */
export function events(s: CompiledScenario, seed = 0): TraceEntry[] {
  const run = runScenario(s, { seed, strategy: new UniformRandom(), trace: true });
  assert.equal(run.result.status, "ok", JSON.stringify(run.violations));
  assert.deepEqual(run.violations, []);
  return (run.result.trace?.entries ?? []).filter((e) => e.kind === "event");
}

/** The return value of each `NAME:end`, in order. */
export function returns(evs: readonly TraceEntry[], name: string): unknown[] {
  return evs.filter((e) => e.label === `${name}:end`).map((e) => e.fields?.ret);
}
