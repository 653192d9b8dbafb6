import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { catalogEntry, entryDefects } from "../../src/check/catalog/catalog.ts";
import { explore } from "../../src/check/explore.ts";
import { failureArtifacts } from "../../src/cli/failureArtifacts.ts";
import { parseRunFileText } from "../../src/output/runFileSchema.ts";

// Firing the earliest timer is a step of no task (task -1, label "timer"): the race
// report, the text log and the Perfetto export take such steps without giving them a
// column or a track of their own.
test("timer steps (task -1): no report column, a log line, no Perfetto slice", () => {
  const entry = catalogEntry("classic-no-retry-check");
  assert.ok(entry);
  const defects = entryDefects(entry);
  const opts = { strategy: "random", design: entry.design, defects } as const;
  // The first failing schedule whose run fires a timer (which one does depends on the
  // model's steps, not on what this test checks).
  const failing = explore(entry.scenario, { ...opts, schedules: 2000, stopAtFirst: false });
  const dir = mkdtempSync(join(tmpdir(), "odpsim-timer-steps-"));
  try {
    let found: { art: ReturnType<typeof failureArtifacts>; timers: number } | null = null;
    for (const index of failing.failingIndices.slice(0, 40)) {
      const alone = { modulus: index + 1, residue: index };
      const failure = explore(entry.scenario, {
        ...opts,
        schedules: index + 1,
        partition: alone,
      }).firstFailure;
      assert.ok(failure);
      const art = failureArtifacts(
        { ...failure, scenario: entry.scenario, strategy: "random", design: entry.design, defects },
        dir,
      );
      assert.ok(art.files !== null && art.runFileJson !== null);
      const run = parseRunFileText(art.runFileJson);
      const timers = run.entries.filter((e) => e.kind === "step" && e.task === -1);
      assert.ok(timers.every((e) => e.label === "timer"));
      if (timers.length > 0) {
        found = { art, timers: timers.length };
        break;
      }
    }
    assert.ok(found !== null, "no failing run fires timers");
    const { art } = found;
    assert.ok(art.files !== null);
    assert.ok(art.raceReport.columns.every((c) => c.task >= 0));
    assert.ok(art.raceReport.rows.every((r) => r.task >= 0));
    assert.doesNotMatch(art.report, /#-1/);
    const log = readFileSync(art.files.log, "utf8");
    assert.match(log, /^\d+ \S+ odpsim scheduler \| -#-1 step timer/m);
    const perfetto = JSON.parse(readFileSync(art.files.perfetto, "utf8")) as {
      traceEvents: { name?: string; ph?: string }[];
    };
    assert.ok(!perfetto.traceEvents.some((e) => e.ph === "X" && e.name === "timer"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
