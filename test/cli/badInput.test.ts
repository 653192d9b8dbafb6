/**
 * Bad input on the command line as a user meets it: output paths that cannot be written,
 * bad flags and values, defects that do not fit the design. Each is one line on stderr
 * naming what is wrong, exit 2, no stack trace, and nothing hangs (test/cli/odpsim.ts
 * kills a command that does). Also --version and every command's --help examples.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { odpsim, type CommandResult } from "./odpsim.ts";

const scratch = mkdtempSync(join(tmpdir(), "odpsim-bad-input-"));
after(() => {
  rmSync(scratch, { recursive: true, force: true });
});
const aFile = join(scratch, "a-file");
writeFileSync(aFile, "not a directory");

const FILE = "examples/10-catalog-no-retry-check.yaml";

/** Exit 2 with exactly one line on stderr matching `line`, and nothing like a stack. */
function oneLineUsage(r: CommandResult, line: RegExp): void {
  assert.equal(r.code, 2, `exit ${String(r.code)}; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] ?? "", line);
  assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at |Node\.js v|Usage:/);
}

const badTracePaths = [
  { path: join(scratch, "missing", "trace.json"), why: /no directory .*missing/ },
  { path: join(aFile, "trace.json"), why: /a-file is a file, not a directory/ },
  { path: "/proc/nope", why: /cannot create files in \/proc: .*ENOENT/ },
  { path: scratch, why: /is a directory, not a file/ },
];

for (const { path, why } of badTracePaths) {
  test(`run --trace ${path}: one line naming it and why, exit 2`, () => {
    const r = odpsim("run", FILE, "--trace", path);
    oneLineUsage(r, new RegExp(`^odpsim: --trace ${path}: .*${why.source}`));
    assert.equal(r.stdout, "", "the run must not start");
  });
}

test("replay --trace to an unwritable place is refused before the token is read", () => {
  oneLineUsage(
    odpsim("replay", "not-a-token", "--trace", "/proc/nope/trace.json"),
    /^odpsim: --trace \/proc\/nope\/trace\.json: no directory \/proc\/nope$/,
  );
});

const badOutDirs = [
  { path: "/proc/nope", why: /cannot create files in \/proc: .*ENOENT/ },
  { path: join(aFile, "out"), why: /a-file is a file, not a directory/ },
  { path: aFile, why: /a-file is a file, not a directory/ },
];

for (const { path, why } of badOutDirs) {
  test(`explore --out ${path}: one line before the search, exit 2, no hang`, () => {
    const r = odpsim(
      "explore",
      "fault-vs-invalidate",
      "--defect",
      "classic-no-retry-check",
      "--out",
      path,
    );
    oneLineUsage(r, new RegExp(`^odpsim: --out ${path}: .*${why.source}`));
    assert.equal(r.stdout, "");
  });
}

test("explore --out to a missing directory makes it, with its parents", () => {
  const out = join(scratch, "new", "deeper");
  const r = odpsim(
    "explore",
    "fault-vs-invalidate",
    "--defect",
    "classic-no-retry-check",
    "--out",
    out,
    "--json",
  );
  assert.equal(r.code, 1, r.stderr);
  for (const name of ["report.txt", "run.json", "trace.log", "trace.perfetto.json"]) {
    assert.ok(existsSync(join(out, name)), name);
  }
  const times = readFileSync(join(out, "trace.log"), "utf8")
    .split("\n")
    .map((l) => / (\S+)ns /.exec(l)?.[1])
    .filter((t) => t !== undefined);
  assert.ok(times.length > 0);
  for (const t of times) assert.match(t, /^\d+(\.\d{1,3})?$/, `trace.log time ${t}ns`);
});

test("a bad flag or value is one line and where to read more, not the help", () => {
  oneLineUsage(
    odpsim("explore", "fault-vs-invalidate", "--schedules", "many"),
    /^odpsim explore: .*--schedules must be an integer .*"many"; see `odpsim explore --help`$/,
  );
  oneLineUsage(
    odpsim("explore", "fault-vs-invalidate", "--fulll"),
    /^odpsim explore: unknown option '--fulll' \(Did you mean --full\?\); see `odpsim explore --help`$/,
  );
  oneLineUsage(
    odpsim("catalog", "check", "--budget", "0"),
    /^odpsim catalog check: .*--budget must be .*; see `odpsim catalog check --help`$/,
  );
  oneLineUsage(odpsim("frobnicate"), /^odpsim: unknown command 'frobnicate'; see `odpsim --help`$/);
  oneLineUsage(
    odpsim("run"),
    /^odpsim run: missing required argument 'scenario'; see `odpsim run --help`$/,
  );
});

test("--version prints package.json's version", () => {
  const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
  for (const flag of ["--version", "-V"]) {
    const r = odpsim(flag);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${version}\n`);
  }
});

test("every command's --help has examples", () => {
  for (const command of [
    "demo",
    "catalog",
    "catalog check",
    "explore",
    "run",
    "replay",
    "bench",
    "view",
  ]) {
    const r = odpsim(...command.split(" "), "--help");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`\\nExamples?[^\\n]*:\\n  odpsim ${command}`), command);
  }
});

test("--defect none switches a file's defects off; a defect of another design is refused", () => {
  const none = odpsim("run", FILE, "--defect", "none", "--json");
  assert.equal(none.code, 0, none.stderr);
  assert.deepEqual((JSON.parse(none.stdout) as { defects: string[] }).defects, []);
  oneLineUsage(
    odpsim("run", FILE, "--defect", "none", "--defect", "classic-no-live-check"),
    /--defect none switches every defect off; give it alone; see `odpsim run --help`$/,
  );
  const otherDesign =
    /^odpsim: defect "interval-remove-lockless-seq" belongs to design interval, not classic$/;
  oneLineUsage(odpsim("run", FILE, "--defect", "interval-remove-lockless-seq"), otherDesign);
  oneLineUsage(
    odpsim("explore", FILE, "--defect", "interval-remove-lockless-seq", "--schedules", "1"),
    otherDesign,
  );
  oneLineUsage(
    odpsim(
      "explore",
      "fault-vs-invalidate",
      "--design",
      "classic",
      "--defect",
      "interval-remove-lockless-seq",
    ),
    otherDesign,
  );
  oneLineUsage(
    odpsim("run", FILE, "--design", "interval"),
    /^odpsim: defect "classic-no-retry-check" belongs to design classic, not interval \(a defect of the file; --defect none switches them off\)$/,
  );
});

test("a design that is wrong is said without the hint about the file's defects", () => {
  // The file has a defect, but no --defect would mend an unknown design.
  const unknown = /^odpsim: unknown design "bogus"; known: classic, .*[^)]$/;
  oneLineUsage(odpsim("run", FILE, "--design", "bogus"), unknown);
  oneLineUsage(odpsim("run", FILE, "--design", "bogus", "--defect", "none"), unknown);
  const explore = odpsim("explore", FILE, "--design", "bogus", "--schedules", "1");
  oneLineUsage(explore, /^odpsim: design "bogus" is not modelled for /);
  assert.doesNotMatch(explore.stderr, /--defect none/);
});

test("explore --defect of a catalog scenario runs under that defect's design", () => {
  const r = odpsim(
    "explore",
    "fault-vs-invalidate",
    "--defect",
    "interval-remove-lockless-seq",
    "--schedules",
    "1",
    "--json",
  );
  assert.notEqual(r.code, 2, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { search: { design: string } }).search.design, "interval");
});
