/**
 * `odpsim fuzz` as a user runs it: bad input is one line and exit 2; a campaign against
 * a defect finds it, writes the shrunk program as a scenario file that `run` and
 * `replay` reproduce; the first failure is the same whatever the worker count.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { odpsim } from "./odpsim.ts";

const dir = mkdtempSync(join(tmpdir(), "odpsim-fuzz-"));

test("bad flags: one line, exit 2, no stack trace", () => {
  const cases: [string[], RegExp][] = [
    [[], /needs --design/],
    [["--design", "nope"], /--design: .*nope/],
    [
      ["--design", "interval", "--defect", "classic-no-retry-check"],
      /belongs to design classic, not interval/,
    ],
    [["--design", "classic", "--defect", "no-such"], /unknown defect "no-such"/],
    [
      ["--design", "classic", "--seconds", "5", "--programs", "3"],
      /--seconds or --programs, not both/,
    ],
    [["--design", "classic", "--programs", "0"], /--programs must be an integer/],
  ];
  for (const [args, message] of cases) {
    const r = odpsim("fuzz", ...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

interface FuzzJson {
  verdict: string;
  failure: { program: number; key: string; file: string; runSeed: number; token: string } | null;
}

function fuzz(out: string, ...args: string[]): FuzzJson {
  const r = odpsim(
    "fuzz",
    "--design",
    "classic",
    "--defect",
    "classic-mr-before-umem",
    "--json",
    "--out",
    out,
    ...args,
  );
  assert.equal(r.code, 1, r.stderr);
  return JSON.parse(r.stdout) as FuzzJson;
}

test("a defect is found; the written file and its token reproduce it", () => {
  const out = join(dir, "w1");
  const j = fuzz(out, "--programs", "30", "--seed", "5");
  assert.equal(j.verdict, "violation");
  const f = j.failure;
  assert.ok(f !== null);
  const text = readFileSync(f.file, "utf8");
  assert.match(text, /^# violation: /);
  assert.match(text, /odpsim replay odp2\./);
  assert.match(text, /defects: \[ classic-mr-before-umem \]/);
  const kind = f.key.split(" ")[0] ?? "";
  const run = odpsim("run", f.file, "--timing", "free", "--seed", String(f.runSeed));
  assert.equal(run.code, 1, run.stdout);
  assert.match(run.stdout, new RegExp(`${kind} at step`));
  const replay = odpsim("replay", f.token);
  assert.equal(replay.code, 1, replay.stderr);
});

test("the same seed and program budget give the same first failure with 1 or 2 workers", () => {
  const one = fuzz(join(dir, "a"), "--programs", "30", "--seed", "5");
  const two = fuzz(join(dir, "b"), "--programs", "30", "--seed", "5", "--workers", "2");
  assert.ok(one.failure !== null && two.failure !== null);
  assert.equal(two.failure.program, one.failure.program);
  assert.equal(two.failure.key, one.failure.key);
});
