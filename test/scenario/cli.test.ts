/**
 * `odpsim run` and `odpsim explore FILE.yaml` as a user runs them: exit codes, the one-line
 * error for a bad file, JSON output, the Perfetto trace.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { odpsim } from "../cli/odpsim.ts";

test("run of a clean example exits 0 and says what happened", () => {
  const r = odpsim("run", "examples/03-invalidate-madvise.yaml", "--seed", "4");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /status: ok/);
  assert.match(r.stdout, /data checks: 1 of 1 passed/);
});

test("run of a malformed file prints FILE:LINE:COL: message and exits 2", () => {
  const file = "test/scenario/malformed/no-such-buffer.yaml";
  const r = odpsim("run", file);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, readFileSync(file.replace(/\.yaml$/, ".error"), "utf8"));
  assert.equal(r.stdout, "");
});

test("run --json reports the violation, --trace writes a Perfetto trace, exit 1", () => {
  const dir = mkdtempSync(join(tmpdir(), "odpsim-run-"));
  const trace = join(dir, "trace.json");
  // The seed the explorer finds for this example (see examples.test.ts).
  const found = odpsim(
    "explore",
    "examples/10-catalog-no-retry-check.yaml",
    "--strategy",
    "random",
    "--schedules",
    "300",
  );
  assert.equal(found.code, 1);
  // The rerun line repeats every option the search used (design, defects, timing).
  const rerun = /rerun: {2}odpsim (run .*) --trace trace\.json/.exec(found.stdout)?.[1];
  assert.ok(rerun !== undefined, found.stdout);
  assert.match(rerun, / --timing free/);
  const r = odpsim(...rerun.split(" "), "--json", "--trace", trace);
  assert.equal(r.code, 1, r.stderr);
  const report = JSON.parse(r.stdout) as {
    violations: { kind: string }[];
    expectationMet: boolean;
  };
  assert.equal(report.violations[0]?.kind, "device_translation_outlives_frame");
  assert.equal(report.expectationMet, true);
  const chrome = JSON.parse(readFileSync(trace, "utf8")) as { traceEvents: unknown[] };
  assert.ok(chrome.traceEvents.length > 0);
});

test("run refuses an unknown design or defect, and a missing file, with exit 2", () => {
  assert.equal(odpsim("run", "examples/01-explicit-fault-in.yaml", "--design", "x").code, 2);
  assert.equal(odpsim("run", "examples/01-explicit-fault-in.yaml", "--defect", "x").code, 2);
  const missing = odpsim("run", "examples/none.yaml");
  assert.equal(missing.code, 2);
  assert.match(
    missing.stderr,
    /^examples\/none\.yaml:1:1: cannot read the scenario file \(ENOENT\)\n$/,
  );
});

/** The token `odpsim explore FILE` prints for the failure it found. */
function exploreToken(file: string): string {
  const r = odpsim("explore", file, "--strategy", "random", "--schedules", "300");
  assert.equal(r.code, 1, r.stderr);
  const token = /replay: odpsim replay (odp2\.\S+)/.exec(r.stdout)?.[1];
  assert.ok(token !== undefined, r.stdout);
  return token;
}

test("a token of a scenario file names the file and replays the failure", () => {
  const token = exploreToken("examples/10-catalog-no-retry-check.yaml");
  const body = JSON.parse(Buffer.from(token.slice(5), "base64url").toString("utf8")) as {
    fl?: string;
  };
  assert.equal(body.fl, "examples/10-catalog-no-retry-check.yaml");
  const r = odpsim("replay", token, "--json");
  assert.equal(r.code, 1, r.stderr);
  const report = JSON.parse(r.stdout) as { scenario: string; violations: { kind: string }[] };
  assert.equal(report.scenario, "catalog-no-retry-check");
  assert.equal(report.violations[0]?.kind, "device_translation_outlives_frame");
});

test("replay refuses a token whose scenario file changed or is gone, with exit 2", () => {
  const dir = mkdtempSync(join(tmpdir(), "odpsim-token-"));
  const file = join(dir, "race.yaml");
  const text = readFileSync("examples/10-catalog-no-retry-check.yaml", "utf8");
  writeFileSync(file, text);
  const token = exploreToken(file);
  writeFileSync(file, text.replace("sleep_us: 20", "sleep_us: 21"));
  const changed = odpsim("replay", token);
  assert.equal(changed.code, 2);
  assert.match(changed.stderr, /bad replay token \(scenario_changed\)/);
  rmSync(file);
  const gone = odpsim("replay", token);
  assert.equal(gone.code, 2);
  assert.equal(gone.stderr, `${file}:1:1: cannot read the scenario file (ENOENT)\n`);
});
