import assert from "node:assert/strict";
import { test } from "node:test";
import { CATALOG } from "../../src/check/catalog/catalog.ts";
import { renderRaceReport } from "../../src/check/renderReport.ts";
import { catalogEntryReport } from "../../src/cli/catalogReports.ts";

// The report sizes the race-report issue asks for, over every catalog entry's shrunk
// report as `odpsim explore` prints it (npm run bench -- --filter report. prints the
// figures): at most 20 rows each, at most 12 rows and at most 3 columns for 15 of the
// first 18 entries' worth (the same share of the catalog as it grows).
const reports = CATALOG.map((entry) => ({ entry, report: catalogEntryReport(entry) }));

test("every catalog entry's report is at most 20 rows of its causal slice", () => {
  for (const { entry, report } of reports) {
    assert.equal(report.table, "slice");
    assert.ok(report.rows.length >= 1, `${entry.id}: no rows`);
    assert.ok(report.rows.length <= 20, `${entry.id}: ${report.rows.length} rows`);
  }
});

test("15 in 18 of the catalog reports have at most 12 rows and at most 3 columns", () => {
  const short = reports.filter((r) => r.report.rows.length <= 12).length;
  const narrow = reports.filter((r) => r.report.columns.length <= 3).length;
  const needed = Math.ceil((reports.length * 15) / 18);
  assert.ok(short >= needed, `${short} reports of at most 12 rows`);
  assert.ok(narrow >= needed, `${narrow} reports of at most 3 columns`);
});

test("every catalog report ends its diagram at the violation and cuts no label", () => {
  for (const { entry, report } of reports) {
    const text = renderRaceReport(report);
    assert.doesNotMatch(text, /…/, `${entry.id}: a cut label`);
    assert.match(text, new RegExp(`^BUG: ${report.violation?.kind ?? "?"}`, "m"), entry.id);
    const last = report.rows.at(-1);
    assert.ok(last !== undefined && last.step <= (report.violation?.step ?? -1), entry.id);
    for (const line of text.split("\n")) assert.ok(line.length <= 100, `${entry.id}: ${line}`);
    for (const line of renderRaceReport(report, "kernel").split("\n")) {
      assert.ok(line.length <= 72 && /^[\x20-\x7e]*$/.test(line), `${entry.id}: ${line}`);
    }
  }
});

test("the reports name what broke: the freed frame, the MTT entry, the freed object", () => {
  const byId = new Map(reports.map((r) => [r.entry.id, r.report] as const));
  const retry = byId.get("classic-no-retry-check");
  assert.ok(retry);
  const rows = (r: typeof retry) => r.rows.map((row) => row.text).join("\n");
  assert.match(rows(retry), /pagefault_mr: notifiers_seq = \d+/);
  assert.match(rows(retry), /mlx5_ib_update_xlt: mkey \d+, MTT\[0\] = pfn \d+/);
  assert.match(rows(retry), /page freed: pfn \d+/);
  const sites = /^ {2}pfn\[\d+\]\.g\d+ freed by cpu#\d+ at step \d+ in \w+$/m;
  assert.match(renderRaceReport(retry), sites);
  const live = byId.get("classic-no-live-check");
  assert.ok(live);
  assert.match(rows(live), /mr->live = 0[\s\S]*kfree: umem_odp/);
});

test("a livelock's report is one turn of its loop and the write that left the slot empty", () => {
  const ksm = reports.find((r) => r.entry.id === "implicit-ksm-update-unlocked")?.report;
  assert.ok(ksm);
  const text = ksm.rows.map((row) => row.text).join("\n");
  // The leaf-free work's UMR, posted after the fault's, points the slot at the null mkey.
  assert.match(text, /KSM\[\d+\] = mkey \d+[\s\S]*KSM\[\d+\] = null mkey/);
  const folded = ksm.rows.filter((row) => (row.repeats?.count ?? 1) > 1);
  assert.ok(folded.length > 0 && folded.every((row) => (row.repeats?.count ?? 0) >= 60));
  assert.ok(ksm.rows.length <= 12, `${ksm.rows.length} rows`);
});

test("a leak's report names where each leaked object was allocated", () => {
  const leak = reports.find((r) => r.entry.id === "implicit-release-leaks-children")?.report;
  assert.ok(leak);
  const text = renderRaceReport(leak);
  assert.match(text, /^ {2}umem_odp\(implicit_child\)#\d+ allocated by \S+ at step \d+$/m);
  assert.doesNotMatch(text, /"allocated"/);
});
