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
import { assertExcerpt, commandsOf, markedBlocks, matches } from "./markdownExamples.ts";

const ROOT = resolve(import.meta.dirname, "..");
const BIN = join(ROOT, "bin/odpsim.js");

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
      assertExcerpt(ROOT, file, block);
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
