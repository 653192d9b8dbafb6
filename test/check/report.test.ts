import assert from "node:assert/strict";
import { test } from "node:test";
import { explore } from "../../src/check/explore.ts";
import { buildRaceReport, raceReportJson } from "../../src/check/report.ts";
import { renderRaceReport } from "../../src/check/renderReport.ts";
import { shrink } from "../../src/check/shrink.ts";
import { lostUpdate, publishFree } from "../../src/check/toy/index.ts";

function shrunkReport(scenario: typeof publishFree, full = false) {
  const f = explore(scenario, { strategy: "random", schedules: 10_000, seed: 7 }).firstFailure;
  assert.ok(f !== null);
  const s = shrink(scenario, { seed: f.seed, schedule: f.schedule });
  return buildRaceReport(scenario, { seed: f.seed, schedule: s.executed }, { full });
}

test("a use-after-free report shows the race in the racing tasks' columns, with the sites", () => {
  const report = shrunkReport(publishFree);
  const text = renderRaceReport(report);
  const lines = text.split("\n");
  const header = lines.find((l) => l.startsWith("step"));
  assert.ok(header !== undefined);
  assert.match(header, /owner#0 +reader#1$/);
  assert.doesNotMatch(text, /noise/, "the noise task is not in the slice");
  // The diagram shows the race in order: publish, load, unpublish, free, the bad read.
  const order = ["kmalloc + publish", "load ptr", "unpublish", "kfree: buffer", "read buf->data"];
  const at = order.map((label) => lines.findIndex((l) => l.includes(label)));
  assert.ok(
    at.every((i, n) => i > 0 && (n === 0 || i > (at[n - 1] ?? 0))),
    at.join(","),
  );
  // The reader's rows sit in the reader's column, right of the owner's.
  const free = lines[at[3] ?? 0] ?? "";
  const read = lines[at[4] ?? 0] ?? "";
  assert.ok(read.indexOf("read buf->data") > free.indexOf("kfree"));
  assert.match(text, /^BUG: use_after_free in reader#1 at step \d+: use-after-free/m);
  assert.match(text, /^ {2}allocated by owner#0 at step \d+$/m);
  assert.match(text, /^ {2}freed by owner#0 at step \d+$/m);
  assert.match(text, /^depth: 2 preemptions \(PCT d=3/m);
  for (const line of lines) assert.ok(line.length <= 100, `too wide: ${line}`);
});

test("a report of a post-run oracle has every task that touched what it names", () => {
  const text = renderRaceReport(shrunkReport(lostUpdate));
  assert.match(text, /inc0#0 +inc1#1/);
  assert.match(text, /load counter: count = 0/);
  assert.match(text, /^BUG: lost_update at step \d+: counter is 1, expected 2$/m);
});

test("the whole-run table keeps the labelled steps of every column task", () => {
  const report = shrunkReport(publishFree, true);
  assert.equal(report.table, "full");
  const text = renderRaceReport(report);
  assert.match(text, /kmalloc \+ publish\(buf\)/);
  assert.ok(report.rows.length > shrunkReport(publishFree).rows.length);
});

test("the kernel format is 72 columns of ASCII without step numbers", () => {
  const text = renderRaceReport(shrunkReport(publishFree), "kernel");
  for (const line of text.split("\n")) {
    assert.ok(line.length <= 72, `too wide: ${line}`);
    assert.match(line, /^[\x20-\x7e]*$/, `not ASCII: ${line}`);
  }
  assert.match(text, /^owner#0 +reader#1$/m);
  assert.doesNotMatch(text, /^ *\d+ {2}/m, "no step column");
  assert.match(text, /^BUG: use_after_free in reader#1/m);
});

test("the kernel format ends with what produced the run: scenario, source, design, defects, timing", () => {
  const report = { ...shrunkReport(publishFree), design: "interval", defects: ["d-one", "d-two"] };
  const text = renderRaceReport(report, "kernel");
  const tail = text.slice(text.lastIndexOf("\n\nfound by odpsim")).replace(/\n +/g, " ").trim();
  assert.equal(
    tail,
    `found by odpsim, ${report.scenario}: scenario ${report.source}; design interval; ` +
      `defects d-one, d-two; ${report.timing} timing`,
  );
  assert.doesNotMatch(renderRaceReport(report), /found by odpsim/, "the text format has it on top");
});

test("the JSON form carries columns, rows, the slice, the violation and the trace hash", () => {
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
  assert.deepEqual(json.slice.objects, ["buffer#1"]);
});
