/**
 * Every example in examples/ does what its file says: the ones that expect no violation
 * run clean (and pass their data checks) over 50 seeds under nominal timing and stay
 * clean under exploration with free timing, where sleeps order nothing (their orders are
 * stated with signal/wait); the ones that expect a violation have it found by uniform
 * random exploration within a small budget, and only it.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";
import { explore } from "../../src/check/explore.ts";
import { loadScenario } from "../../src/scenario/compile.ts";
import { runOnce } from "../../src/scenario/runOnce.ts";

const DIR = "examples";
const SEEDS = 50;
const BUDGET = 500;

const files = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

test("there are at least 12 examples, each explained in a comment at its top", () => {
  assert.ok(files.length >= 12, `only ${files.length} examples`);
  for (const f of files) {
    const lines = readFileSync(`${DIR}/${f}`, "utf8").split("\n");
    assert.equal(lines[0], "# yaml-language-server: $schema=../schema/scenario.schema.json", f);
    const comment = lines.slice(1).findIndex((l) => !l.startsWith("#"));
    assert.ok(comment >= 5, `${f}: the top comment should explain the example`);
  }
});

for (const f of files) {
  const scenario = loadScenario(`${DIR}/${f}`);
  const expected = scenario.expectedViolation;
  if (expected === null) {
    test(`${f} runs clean over ${SEEDS} seeds and passes its data checks`, () => {
      for (let seed = 0; seed < SEEDS; seed++) {
        const { report } = runOnce(scenario, { seed });
        assert.equal(
          report.status,
          "ok",
          `${f} seed ${seed}: ${JSON.stringify(report.violations)}`,
        );
        assert.deepEqual(report.violations, [], `${f} seed ${seed}`);
        for (const c of report.dataChecks)
          assert.equal(c.status, "passed", `${f} seed ${seed}: ${c.message}`);
        assert.ok(report.expectationMet);
      }
    });
    test(`${f} stays clean under ${BUDGET} explored schedules with free timing`, () => {
      const r = explore(scenario, {
        strategy: "random",
        schedules: BUDGET,
        design: scenario.spec.design ?? "classic",
        defects: scenario.spec.defects ?? [],
        stopAtFirst: false,
      });
      assert.equal(r.timing, "free");
      const first = r.firstFailure?.violation;
      assert.equal(r.verdict, "clean", `${f}: ${first?.kind ?? ""} ${first?.message ?? ""}`);
    });
  } else {
    test(`${f}: random exploration finds ${expected} within ${BUDGET} schedules`, () => {
      const r = explore(scenario, {
        strategy: "random",
        schedules: BUDGET,
        design: scenario.spec.design ?? "classic",
        defects: scenario.spec.defects ?? [],
      });
      assert.equal(r.firstFailure?.violation.kind, expected);
      // `odpsim run --seed S --timing free` replays the schedule the explorer found.
      const seed = r.firstFailure.seed;
      const { report } = runOnce(scenario, { seed, timing: r.timing });
      assert.ok(report.expectationMet, `run --seed ${seed} does not show ${expected}`);
    });
  }
}
