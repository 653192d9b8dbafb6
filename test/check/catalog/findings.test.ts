/**
 * Every documented finding is real: exploring its scenario under its design, with no
 * defect on, shows it; and findingOf() names it only for its own design and kinds.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { catalogScenarios } from "../../../src/check/catalog/catalog.ts";
import { FINDINGS, findingOf } from "../../../src/check/catalog/findings.ts";
import { explore } from "../../../src/check/explore.ts";

for (const finding of FINDINGS) {
  test(`finding ${finding.id}: exploration of ${finding.scenario} under ${finding.design} shows it`, () => {
    const scenario = catalogScenarios().get(finding.scenario);
    assert.ok(scenario !== undefined, `no catalog scenario ${finding.scenario}`);
    const r = explore(scenario, {
      strategy: "random",
      schedules: 3000,
      design: finding.design,
      stopAtFirst: false,
    });
    assert.ok(
      r.failingKinds.some((k) => finding.kinds.includes(k)),
      `kinds seen: ${[...new Set(r.failingKinds)].join(", ")}`,
    );
  });
}

test("findingOf names a finding only for its design and kinds", () => {
  for (const f of FINDINGS) {
    for (const kind of f.kinds) assert.equal(findingOf(f.design, kind), f);
    assert.equal(findingOf("interval", f.kinds[0] ?? ""), undefined);
  }
  assert.equal(findingOf("hmm-mirror", "deadlock"), undefined);
});
