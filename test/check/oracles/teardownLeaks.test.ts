import assert from "node:assert/strict";
import { test } from "node:test";
import { faultVsDereg } from "../../../src/check/catalog/scenarios/faultVsDereg.ts";
import { odpHost, setupOdpBuffer } from "../../../src/check/catalog/scenarios/odpHost.ts";
import { teardownLeaks } from "../../../src/check/oracles/teardownLeaks.ts";
import { runScenario } from "../../../src/check/scenario.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../src/sim/task.ts";

test("teardown leaks: an MR never deregistered leaves its umem, per_mm and MR behind", () => {
  const host = odpHost({ seed: 0, strategy: new FirstRunnable(), design: "classic" });
  host.proc.spawnThread("setup", function* (): KGen {
    yield* setupOdpBuffer(host, 1);
  });
  const result = host.k.run();
  const leaks = teardownLeaks(host.k, result);
  assert.equal(leaks[0]?.kind, "leak_at_teardown");
  assert.match(leaks[0].message, /umem_odp\(explicit\)#\d+/);
  assert.match(leaks[0].message, /ib_ucontext_per_mm#\d+/);
  assert.match(leaks[0].message, /mlx5_ib_mr#\d+/);
});

test("teardown leaks: fault-vs-dereg leaves nothing behind in any design", () => {
  for (const design of ["classic", "hmm-mirror", "interval"]) {
    for (let seed = 0; seed < 20; seed++) {
      const run = runScenario(faultVsDereg, { seed, strategy: new FirstRunnable(), design });
      assert.deepEqual(run.violations, [], `${design} seed ${seed}`);
    }
  }
});
