/**
 * Every documented finding is real: exploring its scenario (a catalog scenario, or a
 * scenario file) under its design, with no defect on, shows it with its kind and the
 * strings its message must name; and findingOf() names it only for its own design and
 * kinds.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { catalogScenarios } from "../../../src/check/catalog/catalog.ts";
import { FINDINGS, findingOf, type Finding } from "../../../src/check/catalog/findings.ts";
import { explore } from "../../../src/check/explore.ts";
import type { Scenario } from "../../../src/check/scenario.ts";
import { loadScenario } from "../../../src/scenario/compile.ts";
import type { Violation } from "../../../src/sim/violation.ts";

function scenarioOf(finding: Finding): Scenario {
  if (finding.scenario.endsWith(".yaml")) return loadScenario(finding.scenario);
  const scenario = catalogScenarios().get(finding.scenario);
  assert.ok(scenario !== undefined, `no catalog scenario ${finding.scenario}`);
  return scenario;
}

function shows(finding: Finding, v: Violation): boolean {
  return (
    finding.kinds.includes(v.kind) &&
    (finding.messageIncludes ?? []).every((s) => v.message.includes(s))
  );
}

for (const finding of FINDINGS) {
  test(`finding ${finding.id}: exploration of ${finding.scenario} under ${finding.design} shows it`, () => {
    const scenario = scenarioOf(finding);
    const base = { strategy: "random", design: finding.design, defects: [] } as const;
    if (finding.messageIncludes === undefined) {
      const r = explore(scenario, { ...base, schedules: 3000, stopAtFirst: false });
      assert.ok(
        r.failingKinds.some((k) => finding.kinds.includes(k)),
        `kinds seen: ${[...new Set(r.failingKinds)].join(", ")}`,
      );
      return;
    }
    // Only the first failure's message is kept: search from successive seeds.
    const seen: string[] = [];
    for (let seed = 0; seed < 30; seed++) {
      const r = explore(scenario, { ...base, seed, schedules: 100, stopAtFirst: true });
      const v = r.firstFailure?.violation;
      if (v !== undefined && shows(finding, v)) return;
      if (v !== undefined) seen.push(v.message);
    }
    assert.fail(`not shown; first failures: ${[...new Set(seen)].join(" | ")}`);
  });
}

test("findingOf names a finding only for its design and kinds", () => {
  for (const f of FINDINGS) {
    for (const kind of f.kinds) {
      const named = findingOf(f.design, kind);
      // Findings sharing a design and kind differ by message (messageIncludes), which
      // findingOf(design, kind) cannot see: it names the first of them.
      const first = FINDINGS.find((g) => g.design === f.design && g.kinds.includes(kind));
      assert.equal(named, first);
    }
    assert.equal(findingOf("interval", f.kinds[0] ?? ""), undefined);
  }
  assert.equal(findingOf("hmm-mirror", "bad_page"), undefined);
});
