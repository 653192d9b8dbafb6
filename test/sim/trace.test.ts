import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { ReplaySchedule } from "../../src/sim/strategies/replay.ts";
import { UniformRandom } from "../../src/sim/strategies/uniformRandom.ts";
import { raceScenario } from "./fixtures/raceScenario.ts";

test("a replayed schedule gives a byte-identical trace", () => {
  for (const seed of [0, 1, 2, 77]) {
    const original = raceScenario({ seed }).run();
    assert.equal(original.status, "ok");
    const replay = new ReplaySchedule(original.schedule);
    const again = raceScenario({ seed, strategy: replay }).run();
    assert.equal(replay.divergence, -1);
    assert.equal(again.trace?.toText(), original.trace?.toText());
    assert.deepEqual(again.schedule, original.schedule);
  }
});

test("different seeds explore different interleavings", () => {
  const hashes = new Set(
    Array.from({ length: 10 }, (_, seed) => raceScenario({ seed }).run().trace?.hash()),
  );
  assert.ok(hashes.size > 5, `only ${hashes.size} distinct traces in 10 seeds`);
});

test("the same seed gives the same trace hash in two processes", () => {
  const script = fileURLToPath(new URL("./fixtures/printTraceHash.ts", import.meta.url));
  const inChild = () =>
    execFileSync(process.execPath, ["--import", "tsx", script, "42"], { encoding: "utf8" }).trim();
  const first = inChild();
  const second = inChild();
  assert.match(first, /^[0-9a-f]{64}$/);
  assert.equal(first, second);
  const here = raceScenario({ seed: 42, strategy: new UniformRandom() }).run().trace?.hash();
  assert.equal(first, here);
});

test("the trace records every step with time, task, label, and events with fields", () => {
  const result = raceScenario({ seed: 3 }).run();
  const trace = result.trace;
  assert.ok(trace);
  const steps = trace.entries.filter((e) => e.kind === "step");
  assert.equal(steps.length, result.steps);
  assert.deepEqual(
    steps.map((e) => e.step),
    Array.from({ length: result.steps }, (_, i) => i),
  );
  assert.ok(steps.some((e) => e.label === "mutex_lock(umem_mutex)"));
  const synced = trace.entries.find((e) => e.label === "synchronized");
  assert.equal(synced?.kind, "event");
  assert.equal(typeof synced.fields?.seq, "number");
  assert.match(trace.toText(), /^0 0ns \S+#\d+ step /);
});

test("a schedule that names a task which cannot run is reported as a divergence", () => {
  const replay = new ReplaySchedule([99]);
  raceScenario({ seed: 0, strategy: replay }).run();
  assert.equal(replay.divergence, 0);
});
