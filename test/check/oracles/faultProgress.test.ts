import assert from "node:assert/strict";
import { test } from "node:test";
import { hugetlbVmaReplaced } from "../../../src/check/catalog/scenarios/hugetlbVmaReplaced.ts";
import { runScenario } from "../../../src/check/scenario.ts";
import { EINVAL } from "../../../src/sim/errno.ts";
import { UniformRandom } from "../../../src/sim/strategies/uniformRandom.ts";

test("progress oracle: a fault refused because an IB_ACCESS_HUGETLB MR lies over small pages is no QP error on valid memory", () => {
  let refused = 0;
  for (let seed = 0; seed < 40; seed++) {
    const run = runScenario(hugetlbVmaReplaced, {
      seed,
      strategy: new UniformRandom(),
      trace: true,
      design: "interval",
    });
    const entries = run.kernel.trace?.entries ?? [];
    const einval = entries.some((e) => e.label === "page_fault_resume" && e.fields?.ret === EINVAL);
    if (einval) refused++;
    assert.deepEqual(
      run.violations.map((v) => v.kind),
      [],
      `seed ${seed}`,
    );
  }
  // The check is only worth something if the refusal happened in some of the runs.
  assert.ok(refused > 0, "no run had its fault refused");
});
