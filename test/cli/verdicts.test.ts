/**
 * Verdicts through the command line: a search whose runs hit the step bound exits 4 and
 * says inconclusive (never "no violation"), `run` does the same for one run, an unknown
 * `expect: violation:` kind is an input error with its position, and every --help lists
 * the exit codes.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { odpsim } from "./odpsim.ts";

const dir = mkdtempSync(join(tmpdir(), "odpsim-verdicts-"));

/** examples/03 with a step bound far too small for its run. */
function tooFewSteps(): string {
  const file = join(dir, "bounded.yaml");
  const text = readFileSync("examples/03-invalidate-madvise.yaml", "utf8");
  writeFileSync(file, text.replace("name: invalidate-madvise", "name: bounded\nmaxSteps: 40"));
  return file;
}

test("explore of a scenario whose runs hit the step bound is inconclusive, exit 4", () => {
  const file = tooFewSteps();
  const text = odpsim("explore", file, "--schedules", "30");
  assert.equal(text.code, 4, text.stderr);
  assert.match(text.stdout, /^inconclusive: no violation in 30 schedules, but 30 of them hit/);
  assert.doesNotMatch(text.stdout, /^no violation/m);
  const json = odpsim("explore", file, "--schedules", "30", "--json");
  assert.equal(json.code, 4);
  const out = JSON.parse(json.stdout) as { verdict: string; inconclusive: number };
  assert.equal(out.verdict, "inconclusive");
  assert.equal(out.inconclusive, 30);
});

test("run of a scenario that hits the step bound is inconclusive, exit 4", () => {
  const r = odpsim("run", tooFewSteps());
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stdout, /status: step_bound/);
  assert.match(r.stdout, /inconclusive: the run hit the step bound/);
});

test("a clean search exits 0 and names its timing", () => {
  const r = odpsim("explore", "examples/01-explicit-fault-in.yaml", "--schedules", "50");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^no violation in 50 schedules \(random, free timing\)$/m);
  const nominal = odpsim(
    "explore",
    "examples/01-explicit-fault-in.yaml",
    "--schedules",
    "50",
    "--timing",
    "nominal",
    "--json",
  );
  assert.equal(
    (JSON.parse(nominal.stdout) as { search: { timing: string } }).search.timing,
    "nominal",
  );
  const bad = odpsim("explore", "examples/01-explicit-fault-in.yaml", "--timing", "fast");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--timing must be nominal or free, got "fast"/);
});

test("an unknown expect: violation: kind is an input error at its position", () => {
  const file = join(dir, "typo.yaml");
  const text = readFileSync("examples/10-catalog-no-retry-check.yaml", "utf8");
  writeFileSync(
    file,
    text.replace("violation: device_translation_outlives_frame", "violation: use_after_fre"),
  );
  const r = odpsim("explore", file);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^\S+typo\.yaml:\d+:\d+: unknown violation kind "use_after_fre" \(did you mean use_after_free\?\); known: none, deadlock, /,
  );
  assert.equal(r.stderr.trim().split("\n").length, 1);
});

test("every command's --help lists the exit codes", () => {
  for (const args of [
    ["--help"],
    ["explore", "--help"],
    ["run", "--help"],
    ["catalog", "check", "--help"],
  ]) {
    const r = odpsim(...args);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Exit codes:\n {2}0 {2}clean[^]*4 {2}inconclusive/, args.join(" "));
  }
});

// A violation a design shows with no defect on, of a kind that design's documented
// findings name, is said to be likely that finding; with a catalog defect on, it is not.
test("explore names the documented finding a defect-free violation likely is", () => {
  const plain = odpsim("explore", "writeback-vs-odp", "--design", "hmm-mirror");
  assert.equal(plain.code, 1, plain.stderr);
  assert.match(plain.stdout, /^known: likely hmm-mirror's documented finding hmm-mirror-\S+: /m);
  const withDefect = odpsim(
    "explore",
    "fault-vs-invalidate",
    "--design",
    "classic",
    "--defect",
    "classic-no-retry-check",
  );
  assert.equal(withDefect.code, 1, withDefect.stderr);
  assert.doesNotMatch(withDefect.stdout, /^known:/m);
});
