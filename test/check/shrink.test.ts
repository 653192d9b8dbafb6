import assert from "node:assert/strict";
import { test } from "node:test";
import { explore } from "../../src/check/explore.ts";
import type { Scenario } from "../../src/check/scenario.ts";
import { pctBound, replayShrunk, shrink, ShrinkError } from "../../src/check/shrink.ts";
import { runScenario } from "../../src/check/scenario.ts";
import { GuidedReplay } from "../../src/check/strategies/guidedReplay.ts";
import { Recording } from "../../src/check/strategies/recording.ts";
import { toyGroup, toyKernel } from "../../src/check/toy/common.ts";
import { flagRace, interleavings2x2, lostUpdate, publishFree } from "../../src/check/toy/index.ts";
import type { KGen } from "../../src/sim/task.ts";
import { loadScenario } from "../../src/scenario/compile.ts";
import { fileURLToPath } from "node:url";

function failing(scenario: Scenario, strategy: "random" | "pct") {
  const r = explore(scenario, { strategy, schedules: 20_000, seed: 7 });
  assert.ok(r.firstFailure !== null, `${scenario.name} not found`);
  return r.firstFailure;
}

for (const [scenario, strategy, depth] of [
  [publishFree, "random", 2],
  [flagRace, "random", 1],
  [lostUpdate, "random", 1],
] as const) {
  test(`shrinking ${scenario.name} (${strategy}) gives a 1-minimal schedule of depth ${depth}`, () => {
    const f = failing(scenario, strategy);
    const s = shrink(scenario, { seed: f.seed, schedule: f.schedule, timing: f.timing });
    assert.equal(s.violation.kind, f.violation.kind);
    assert.equal(s.minimal, true);
    assert.ok(
      s.schedule.length < f.schedule.length,
      `${s.schedule.length} vs ${f.schedule.length}`,
    );
    assert.ok(s.preemptions <= s.originalPreemptions);
    assert.equal(s.preemptions, depth);
    // It still fails the same way...
    const again = replayShrunk(scenario, { seed: f.seed, schedule: s.schedule, timing: f.timing });
    assert.equal(again.violation?.kind, f.violation.kind);
    assert.equal(again.preemptions, s.preemptions);
    // ...and no single deletion does without more preemptions.
    for (let i = 0; i < s.schedule.length; i++) {
      const fewer = [...s.schedule.subarray(0, i), ...s.schedule.subarray(i + 1)];
      const r = replayShrunk(scenario, { seed: f.seed, schedule: fewer, timing: f.timing });
      const stillFails: boolean =
        r.violation?.kind === f.violation.kind && r.preemptions <= s.preemptions;
      assert.equal(stillFails, false, `deleting step ${i} still fails`);
    }
  });
}

test("shrinking removes the random schedule's needless preemptions", () => {
  const f = failing(publishFree, "random");
  const s = shrink(publishFree, { seed: f.seed, schedule: f.schedule, timing: f.timing });
  assert.ok(s.originalPreemptions > s.preemptions, `${s.originalPreemptions} -> ${s.preemptions}`);
});

test("the PCT bound is 1/(n·k^(d-1)) with d = preemptions + 1", () => {
  const b = pctBound(3, 15, 2);
  assert.equal(b.d, 3);
  assert.equal(b.probability, 1 / (3 * 15 * 15));
  const f = failing(publishFree, "random");
  const s = shrink(publishFree, { seed: f.seed, schedule: f.schedule, timing: f.timing });
  assert.equal(s.pctBound.n, 3);
  assert.equal(s.pctBound.k, s.steps);
  assert.equal(s.pctBound.probability, 1 / (3 * s.steps ** 2));
});

test("a schedule that does not fail cannot be shrunk", () => {
  assert.throws(() => shrink(interleavings2x2, { seed: 0, schedule: [0, 0, 1, 1] }), ShrinkError);
});

/** Three allocations that may fail; only a failure of the second one is a bug. */
const secondAllocMatters: Scenario = {
  name: "second-alloc-matters",
  description: "test: one task, three alloc fault sites; a failed second one warns",
  build(ctx) {
    const k = toyKernel(ctx);
    k.spawn("t", toyGroup, function* (): KGen {
      const failed = [k.shouldFail("alloc"), k.shouldFail("alloc"), k.shouldFail("alloc")];
      yield "allocs";
      k.warnOn(failed[1] === true, "the second allocation failed and nobody checked");
    });
    return k;
  },
};

test("shrinking suppresses the injected faults the failure does not need", () => {
  const faults = { sites: ["alloc"], probability: 1 } as const;
  const first = runScenario(secondAllocMatters, {
    seed: 0,
    strategy: new Recording(new GuidedReplay([])),
    faults,
  });
  assert.equal(first.kernel.faultsInjected, 3);
  const s = shrink(secondAllocMatters, { seed: 0, schedule: first.result.schedule, faults });
  assert.equal(s.violation.kind, "warn_on");
  assert.deepEqual(s.faults?.suppressed, [0, 2]);
  assert.equal(s.faultsInjected, 1);
});

test("shrinking a scenario file leaves out the threads and operations the bug does not need", () => {
  const file = fileURLToPath(
    new URL("../../examples/10-catalog-no-retry-check.yaml", import.meta.url),
  );
  const scenario = loadScenario(file);
  const f = failing(scenario, "random");
  const s = shrink(scenario, { seed: f.seed, schedule: f.schedule, timing: f.timing });
  assert.equal(s.violation.kind, f.violation.kind);
  assert.ok(s.omit.length > 0, "something is left out");
  assert.equal(s.minimal, true);
  // What remains is needed: leaving out any one more part loses the bug.
  for (const part of scenario.parts ?? []) {
    if (s.omit.some((o) => part === o || part.startsWith(`${o}[`))) continue;
    const r = replayShrunk(scenario, {
      seed: f.seed,
      schedule: s.schedule,
      timing: f.timing,
      omit: [...s.omit, part],
    });
    const stillFails = r.violation?.kind === f.violation.kind && r.preemptions <= s.preemptions;
    assert.equal(stillFails, false, `leaving out ${part} still fails`);
  }
});
