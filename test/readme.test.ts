/**
 * The README's examples are real: every fenced block marked `<!-- readme-test: run -->`
 * is run, command by command (`$ npx odpsim ...`), and must print what the README shows
 * and exit as it says (`[exit N]`, default 0); every block marked
 * `<!-- readme-test: excerpt FILE -->` must appear in FILE (up to indentation). In the
 * expected output, `[..]` matches any text within a line, and a line that is only `[..]`
 * matches any number of lines. The commands run in a scratch folder that sees the
 * repository's examples/, in README order; the files they write are checked against
 * what the README says of them (the trace's flows, the viewer's run file).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import { parseRunFileText } from "../src/output/runFileSchema.ts";

const ROOT = resolve(import.meta.dirname, "..");
const BIN = join(ROOT, "bin/odpsim.js");

interface Block {
  readonly marker: string;
  readonly lines: readonly string[];
}

/** The marked blocks of the README, in order. */
function markedBlocks(md: string): Block[] {
  const re = /<!-- readme-test: ([^>]*?) -->\s*\n```[a-z]*\n([\s\S]*?)```/g;
  return [...md.matchAll(re)].map((m) => ({
    marker: m[1] ?? "",
    lines: (m[2] ?? "").replace(/\n$/, "").split("\n"),
  }));
}

interface Command {
  readonly argv: readonly string[];
  readonly expected: readonly string[];
  readonly exit: number;
}

function commandsOf(block: Block): Command[] {
  const commands: { argv: string[]; expected: string[]; exit: number }[] = [];
  for (const line of block.lines) {
    if (line.startsWith("$ ")) {
      const words = line.slice(2).trim().split(/\s+/);
      assert.deepEqual(words.slice(0, 2), ["npx", "odpsim"], `not an odpsim command: ${line}`);
      commands.push({ argv: words.slice(2), expected: [], exit: 0 });
      continue;
    }
    const current = commands.at(-1);
    assert.ok(current !== undefined, `output before any command: ${line}`);
    const exit = /^\[exit (\d+)\]$/.exec(line);
    if (exit !== null) current.exit = Number(exit[1]);
    else current.expected.push(line);
  }
  return commands;
}

function lineRegex(pattern: string): RegExp {
  const parts = pattern.split("[..]").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join(".*")}$`);
}

/** Whether `actual` matches `expected` from the given positions, `[..]` lines backtracking. */
function matches(expected: readonly string[], actual: readonly string[], e = 0, a = 0): boolean {
  if (e === expected.length) return a === actual.length;
  const want = expected[e] ?? "";
  if (want === "[..]") {
    for (let skip = a; skip <= actual.length; skip++) {
      if (matches(expected, actual, e + 1, skip)) return true;
    }
    return false;
  }
  return (
    a < actual.length &&
    lineRegex(want).test(actual[a] ?? "") &&
    matches(expected, actual, e + 1, a + 1)
  );
}

/** Whether `block` appears in `text`, every line shifted by one indentation. */
function containsIndented(text: string, block: readonly string[]): boolean {
  const lines = text.split("\n");
  const first = block[0] ?? "";
  return lines.some((line, i) => {
    if (line.trimStart() !== first.trimStart()) return false;
    const indent = line.slice(0, line.length - line.trimStart().length);
    return block.every((b, j) => {
      const have = lines[i + j];
      return b === "" ? have?.trim() === "" : have === indent + b;
    });
  });
}

const work = mkdtempSync(join(tmpdir(), "odpsim-readme-"));
symlinkSync(join(ROOT, "examples"), join(work, "examples"));
after(() => {
  rmSync(work, { recursive: true, force: true });
});

const blocks = markedBlocks(readFileSync(join(ROOT, "README.md"), "utf8"));

test("the README has tested examples for scenarios, the CLI, traces and the viewer", () => {
  const md = readFileSync(join(ROOT, "README.md"), "utf8");
  for (const section of ["## Scenarios", "## The command line", "## Traces", "## The viewer"]) {
    const at = md.indexOf(`${section}\n`);
    assert.ok(at >= 0, `no section ${section}`);
    const next = md.indexOf("\n## ", at + 1);
    const body = md.slice(at, next < 0 ? undefined : next);
    assert.match(body, /<!-- readme-test: /, `${section} has no tested example`);
  }
});

blocks.forEach((block, n) => {
  const [kind, file] = block.marker.split(/\s+/);
  test(`README block ${n + 1} (${block.marker}) does what the README shows`, () => {
    if (kind === "excerpt") {
      assert.ok(file !== undefined);
      const text = readFileSync(join(ROOT, file), "utf8");
      assert.ok(containsIndented(text, block.lines), `${file} does not contain the excerpt`);
      return;
    }
    assert.equal(kind, "run");
    for (const c of commandsOf(block)) {
      const r = spawnSync(process.execPath, [BIN, ...c.argv], {
        cwd: work,
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1" },
      });
      const shown = `odpsim ${c.argv.join(" ")}`;
      assert.equal(r.status, c.exit, `${shown}: exit ${String(r.status)}\n${r.stderr}`);
      const actual = r.stdout.replace(/\n$/, "").split("\n");
      assert.ok(matches(c.expected, actual), `${shown} printed:\n${r.stdout}`);
    }
  });
});

test("what the README's commands wrote is what it says: race flows, a viewer run file", () => {
  const trace = JSON.parse(readFileSync(join(work, "race.json"), "utf8")) as {
    traceEvents: { ph: string; name: string }[];
  };
  const races = trace.traceEvents.filter((e) => e.ph === "s" && e.name.startsWith("race "));
  assert.ok(races.length > 0, "no fault-to-invalidation flow in race.json");
  const run = parseRunFileText(readFileSync(join(work, "odpsim-out/run.json"), "utf8"));
  const stale = run.snapshots.some((s) => s.mrs.some((mr) => mr.entries.some((e) => e.stale)));
  assert.ok(stale, "the viewer's run file shows no stale device translation");
  assert.match(readFileSync(join(work, "odpsim-out/trace.log"), "utf8"), /page_fault/);
});
