import assert from "node:assert/strict";
import { test } from "node:test";
import { faultVsInvalidate } from "../../src/check/catalog/scenarios/faultVsInvalidate.ts";
import { explore } from "../../src/check/explore.ts";
import { faultSitesOf } from "../../src/check/faults.ts";
import { runScenario } from "../../src/check/scenario.ts";
import { UniformRandom } from "../../src/sim/strategies/uniformRandom.ts";

function traceHash(seed: number, sites: ("umr" | "alloc")[] | null) {
  const run = runScenario(faultVsInvalidate, {
    seed,
    strategy: new UniformRandom(),
    trace: true,
    design: "classic",
    ...(sites === null ? {} : { faults: { sites } }),
  });
  return { hash: run.result.trace?.hash(), injected: run.kernel.faultsInjected };
}

test("fault injection: an empty plan changes nothing; a plan is deterministic per seed", () => {
  for (const seed of [0, 1, 2]) {
    assert.equal(traceHash(seed, []).hash, traceHash(seed, null).hash);
    assert.deepEqual(traceHash(seed, ["umr", "alloc"]), traceHash(seed, ["umr", "alloc"]));
  }
});

test("fault injection: sites fail at the planned rate, drawn from the seed", () => {
  assert.deepEqual([...faultSitesOf({ sites: ["umr"], probability: 0.5 })], [["umr", 0.5]]);
  let injected = 0;
  for (let seed = 0; seed < 40; seed++) injected += traceHash(seed, ["umr"]).injected;
  assert.ok(injected > 0, "no UMR ever failed in 40 seeds");
});

test("fault injection finds that a failed zap UMR leaves the device translating a freed page", () => {
  // mlx5_ib_invalidate_range ignores the result of its zap UMR, in every design.
  for (const design of ["classic", "interval"]) {
    const r = explore(faultVsInvalidate, {
      strategy: "random",
      schedules: 300,
      design,
      faults: { sites: ["umr"] },
    });
    assert.equal(r.firstFailure?.violation.kind, "device_use_after_free", design);
  }
});
