import assert from "node:assert/strict";
import { test } from "node:test";
import { explore } from "../../../../src/check/explore.ts";
import { runScenario } from "../../../../src/check/scenario.ts";
import { UniformRandom } from "../../../../src/sim/strategies/uniformRandom.ts";
import {
  UVERBS_CATALOG,
  uverbsForkUnplug,
  uverbsMmapUnplug,
} from "../../../../src/check/catalog/uverbs/index.ts";
import type { Scenario } from "../../../../src/check/scenario.ts";
import { DESIGNS, withForkOrder } from "./fixture.ts";

const SEEDS = 200;

/**
 * What must be clean: every scenario under every design, except that the entry design
 * forks in today's order, where fork racing disassociation leaves the child mapping the
 * BAR (the finding of forkOrder.test.ts); here it runs in the order before v6.9.
 */
function cleanForm(scenario: Scenario, design: string): Scenario {
  return design === "entry" && scenario === uverbsForkUnplug
    ? withForkOrder(scenario, false)
    : scenario;
}

for (const scenario of [uverbsForkUnplug, uverbsMmapUnplug]) {
  for (const design of DESIGNS) {
    test(`${scenario.name} (${design}): ${SEEDS} random schedules of the fixed design are clean and finish`, () => {
      for (let seed = 0; seed < SEEDS; seed++) {
        const run = runScenario(cleanForm(scenario, design), {
          seed,
          strategy: new UniformRandom(),
          design,
        });
        assert.equal(run.result.internalError, null, `seed ${seed}`);
        assert.equal(run.result.status, "ok", `seed ${seed}: ${run.violations[0]?.message ?? ""}`);
        const left = run.kernel.kasan.liveObjects().map((o) => o.objKind);
        assert.deepEqual(left, ["ib_device", "ib_uverbs_device"], `seed ${seed}: leaked objects`);
      }
    });
  }
}

for (const entry of UVERBS_CATALOG) {
  for (const design of DESIGNS) {
    test(`catalog ${entry.number} ${entry.id} (${design}): random exploration finds ${entry.expected}; without it ${SEEDS} schedules are clean`, () => {
      const base = { strategy: "random", schedules: SEEDS, design } as const;
      const buggy = explore(entry.scenario, { ...base, defects: [entry.id] });
      assert.ok(buggy.firstFailure !== null, "not found");
      assert.equal(buggy.firstFailure.violation.kind, entry.expected);
      assert.ok(
        (buggy.schedulesToFind ?? Infinity) <= 50,
        `found only after ${buggy.schedulesToFind}`,
      );
      const fixed = explore(cleanForm(entry.scenario, design), {
        ...base,
        defects: [],
        stopAtFirst: false,
      });
      assert.deepEqual(fixed.failingIndices, []);
      assert.equal(fixed.firstInternalError, null);
    });
  }
}
