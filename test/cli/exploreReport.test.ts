import assert from "node:assert/strict";
import { test } from "node:test";
import { odpsim } from "./odpsim.ts";

const race = [
  ...["explore", "dmirror-close-vs-munmap", "--design", "interval"],
  ...["--defect", "interval-remove-lockless-seq"],
];

interface ExploreJson {
  readonly found: boolean;
  readonly report: string;
  readonly table: string;
  readonly columns: { task: number; label: string }[];
  readonly rows: { step: number; task: number; column: number; text: string }[];
  readonly slice: { steps: number[]; objects: string[] };
  readonly token: string;
}

test("explore prints the causal slice: the tasks that raced, no setup, labels whole", () => {
  const r = odpsim(...race);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^step +munmap#1 +close#2$/m);
  assert.doesNotMatch(r.stdout, /setup#0 +munmap/, "no column for the setup");
  assert.match(r.stdout, /mmu_interval_seq_released: invalidate_seq = 4/);
  assert.doesNotMatch(r.stdout, /…/);
});

test("explore --format kernel prints the diagram in 72 columns of ASCII", () => {
  const r = odpsim(...race, "--format", "kernel");
  assert.equal(r.code, 1, r.stderr);
  const report = r.stdout.split("\nreplay: ")[0] ?? "";
  assert.match(report, /^munmap#1 +close#2$/m);
  for (const line of report.split("\n")) {
    assert.ok(line.length <= 72 && /^[\x20-\x7e]*$/.test(line), `not 72-column ASCII: ${line}`);
  }
  assert.match(report, /^BUG: use_after_free in munmap#1 at step \d+/m);
});

test("explore --full prints the whole-run table, setup included", () => {
  const slice = odpsim(...race, "--json");
  const full = odpsim(...race, "--full", "--json");
  assert.equal(full.code, 1, full.stderr);
  const a = JSON.parse(slice.stdout) as ExploreJson;
  const b = JSON.parse(full.stdout) as ExploreJson;
  assert.equal(a.table, "slice");
  assert.equal(b.table, "full");
  assert.ok(b.rows.length > a.rows.length);
  assert.ok(b.columns.some((c) => c.label === "setup#0"));
  assert.match(b.report, /whole\s+run/);
});

test("explore --json carries the rendered report, its columns, rows and slice", () => {
  const r = odpsim(...race, "--json");
  const j = JSON.parse(r.stdout) as ExploreJson;
  assert.equal(j.found, true);
  assert.match(j.report, /^odpsim race report: dmirror-close-vs-munmap/);
  assert.deepEqual(
    j.columns.map((c) => c.label),
    ["munmap#1", "close#2"],
  );
  assert.ok(j.rows.length > 0 && j.rows.every((row) => j.report.includes(`${row.step}  `)));
  assert.deepEqual(j.slice.objects, ["dmirror#3"]);
  assert.match(j.token, /^odp2\./);
});

test("replay takes --format kernel too; a bad --format is one line and exit 2", () => {
  const token = (JSON.parse(odpsim(...race, "--json").stdout) as ExploreJson).token;
  const r = odpsim("replay", token, "--format", "kernel");
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^munmap#1 +close#2$/m);
  const bad = odpsim(...race, "--format", "html");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--format must be text or kernel, got "html"/);
});

test("a failed zap UMR behind a violation is a row of the slice, in every design", () => {
  // examples/19-zap-umr-failure.yaml injects UMR failures: the zap of MTT[0] fails, the
  // page is freed under the translation the device kept. In classic and hmm-mirror the
  // free is a later step than the failed UMR; in interval (and the catalog scenario
  // under --fault umr) it is the same step.
  const runs = [
    ...["classic", "hmm-mirror", "interval"].map((design) => [
      ...["explore", "examples/19-zap-umr-failure.yaml", "--design", design],
    ]),
    ["explore", "fault-vs-invalidate", "--design", "interval", "--fault", "umr"],
  ];
  for (const args of runs) {
    const r = odpsim(...args, "--json");
    assert.equal(r.code, 1, r.stderr);
    const j = JSON.parse(r.stdout) as ExploreJson;
    assert.equal(j.table, "slice");
    const failed = j.rows.find((row) => row.text.includes("reg umr failed: mkey 322, first = 0"));
    assert.ok(failed !== undefined, `${args.join(" ")}:\n${j.report}`);
    assert.ok(j.slice.steps.includes(failed.step));
    assert.match(j.report, /\(the zap UMR of MTT\[0\] failed\)/);
  }
});
