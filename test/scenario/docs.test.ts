/**
 * The example in docs/scenarios.md is a real scenario: it parses and runs clean, under
 * nominal timing and under exploration; and the docs list every violation kind and every
 * operation.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { compileScenario } from "../../src/scenario/compile.ts";
import { parseScenarioText } from "../../src/scenario/parse.ts";
import { runOnce } from "../../src/scenario/runOnce.ts";
import { explore } from "../../src/check/explore.ts";
import { VIOLATION_KINDS } from "../../src/check/violationKinds.ts";
import { OP_THREAD_KINDS } from "../../src/scenario/opSpec.ts";

test("the scenario in docs/scenarios.md runs clean and passes its checks", () => {
  const md = readFileSync("docs/scenarios.md", "utf8");
  const blocks = [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
  const text = blocks.find((b) => b.includes("processes:"));
  assert.ok(text !== undefined, "no scenario in docs/scenarios.md");
  const scenario = compileScenario(parseScenarioText(text, "docs/scenarios.md"));
  for (let seed = 0; seed < 20; seed++) {
    const { report } = runOnce(scenario, { seed });
    assert.ok(report.clean, `seed ${seed}: ${JSON.stringify(report.violations)}`);
    assert.equal(report.dataChecks[0]?.status, "passed");
  }
});

test("the scenario in docs/scenarios.md stays clean under free timing (its orders are stated)", () => {
  const md = readFileSync("docs/scenarios.md", "utf8");
  const blocks = [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
  const text = blocks.find((b) => b.includes("processes:")) ?? "";
  const scenario = compileScenario(parseScenarioText(text, "docs/scenarios.md"));
  const r = explore(scenario, { strategy: "random", schedules: 300, stopAtFirst: false });
  assert.equal(r.verdict, "clean", r.firstFailure?.violation.message);
});

test("docs/scenarios.md's table of violation kinds is the registry: each kind once, in order, as described", () => {
  const md = readFileSync("docs/scenarios.md", "utf8");
  const section = md.split("\n## Violation kinds\n")[1]?.split("\n## ")[0] ?? "";
  const rows = [...section.matchAll(/^\| `([a-z_]+)` +\| (.*?) +\|$/gm)].map((m) => [m[1], m[2]]);
  assert.deepEqual(rows, Object.entries(VIOLATION_KINDS));
});

test("docs/scenarios.md's table of operations has a row for every operation", () => {
  const md = readFileSync("docs/scenarios.md", "utf8");
  const rows = md.split("\n").filter((line) => line.trimStart().startsWith("| `"));
  const missing = Object.keys(OP_THREAD_KINDS).filter(
    (op) => !rows.some((row) => new RegExp(`\`${op}[ :\`]`).test(row)),
  );
  assert.deepEqual(missing, []);
});
