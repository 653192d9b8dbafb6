import assert from "node:assert/strict";
import { test } from "node:test";
import { explore } from "../../src/check/explore.ts";
import { buildRaceReport, raceReportJson, renderRaceReport } from "../../src/check/report.ts";
import { shrink } from "../../src/check/shrink.ts";
import { lostUpdate, publishFree } from "../../src/check/toy/index.ts";

function shrunkReport(scenario: typeof publishFree) {
  const f = explore(scenario, { strategy: "random", schedules: 10_000, seed: 7 }).firstFailure;
  assert.ok(f !== null);
  const s = shrink(scenario, { seed: f.seed, schedule: f.schedule });
  return buildRaceReport(scenario, { seed: f.seed, schedule: s.executed });
}

test("a use-after-free report has both racing tasks' columns, the BUG line and the sites", () => {
  const report = shrunkReport(publishFree);
  const text = renderRaceReport(report);
  const lines = text.split("\n");
  const header = lines.find((l) => l.startsWith("step"));
  assert.ok(header !== undefined);
  assert.match(header, /owner#0/);
  assert.match(header, /reader#1/);
  // The diagram shows the race in order: publish, load, free, the bad read.
  const order = ["kmalloc + publish(buf)", "load ptr: buf", "kfree(buf)", "read buf->data"];
  const at = order.map((label) => lines.findIndex((l) => l.includes(label)));
  assert.ok(
    at.every((i, n) => i > 0 && (n === 0 || i > (at[n - 1] ?? 0))),
    at.join(","),
  );
  // The reader's read sits in the reader's column, right of the owner's.
  const free = lines[at[2] ?? 0] ?? "";
  const read = lines[at[3] ?? 0] ?? "";
  assert.ok(read.indexOf("read buf->data") > free.indexOf("kfree(buf)"));
  assert.match(text, /^BUG: use_after_free in reader#1 at step \d+: use-after-free/m);
  assert.match(text, /^ {2}allocated by owner#0 at step \d+$/m);
  assert.match(text, /^ {2}freed by owner#0 at step \d+$/m);
  assert.match(text, /^depth: 2 preemptions \(PCT d=3/m);
  for (const line of lines) assert.ok(line.length <= 100, `too wide: ${line}`);
});

test("a report of a post-run oracle names every task involved", () => {
  const text = renderRaceReport(shrunkReport(lostUpdate));
  assert.match(text, /inc0#0 +inc1#1/);
  assert.match(text, /^BUG: lost_update at step \d+: counter is 1, expected 2$/m);
});

test("the JSON form carries columns, rows, the violation and the trace hash", () => {
  const report = shrunkReport(publishFree);
  const json = JSON.parse(raceReportJson(report)) as typeof report;
  assert.deepEqual(
    json.columns.map((c) => c.label),
    ["owner#0", "reader#1"],
  );
  assert.equal(json.violation?.kind, "use_after_free");
  assert.equal(json.allocated?.task, "owner#0");
  assert.equal(json.freed?.task, "owner#0");
  assert.match(json.traceHash, /^[0-9a-f]{64}$/);
  assert.ok(json.rows.some((r) => r.kind === "violation"));
});
