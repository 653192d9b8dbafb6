/**
 * docs/your-own-design.md is real: every `readme-test: run` block's commands run (in a
 * scratch folder that sees the repository's examples/) and print what the page shows,
 * and every excerpt is in its file. `$TOKEN` in a command stands for the replay token
 * the previous command printed (`replay: odpsim replay <token>`), which changes with the
 * driver's source.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import { assertExcerpt, commandsOf, markedBlocks, matches } from "../markdownExamples.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/odpsim.js");
const PAGE = "docs/your-own-design.md";

const work = mkdtempSync(join(tmpdir(), "odpsim-tutorial-"));
symlinkSync(join(ROOT, "examples"), join(work, "examples"));
after(() => {
  rmSync(work, { recursive: true, force: true });
});

const blocks = markedBlocks(readFileSync(join(ROOT, PAGE), "utf8"));
let lastToken: string | null = null;

test("the tutorial runs the driver with each bug, replays, and runs it clean", () => {
  const runs = blocks.filter((b) => b.marker === "run").flatMap(commandsOf);
  const defects = runs.flatMap((c) => c.argv.filter((_, i) => c.argv[i - 1] === "--defect"));
  assert.ok(
    defects.includes("mirror-no-read-retry") && defects.includes("mirror-invalidate-unlocked"),
  );
  assert.ok(runs.some((c) => c.argv[0] === "replay"));
  assert.ok(
    runs.some((c) => c.argv[0] === "explore" && !c.argv.includes("--defect") && c.exit === 0),
  );
});

blocks.forEach((block, n) => {
  const [kind, file] = block.marker.split(/\s+/);
  test(`${PAGE} block ${n + 1} (${block.marker}) does what the page shows`, () => {
    if (kind === "excerpt") {
      assertExcerpt(ROOT, file, block);
      return;
    }
    assert.equal(kind, "run");
    for (const c of commandsOf(block)) {
      const argv = c.argv.map((a) => {
        if (a !== "$TOKEN") return a;
        assert.ok(lastToken !== null, "$TOKEN before any command printed a token");
        return lastToken;
      });
      const r = spawnSync(process.execPath, [BIN, ...argv], {
        cwd: work,
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1" },
      });
      const shown = `odpsim ${c.argv.join(" ")}`;
      assert.equal(r.status, c.exit, `${shown}: exit ${String(r.status)}\n${r.stderr}`);
      const actual = r.stdout === "" ? [] : r.stdout.replace(/\n$/, "").split("\n");
      assert.ok(matches(c.expected, actual), `${shown} printed:\n${r.stdout}`);
      lastToken = /^replay: odpsim replay (\S+)$/m.exec(r.stdout)?.[1] ?? lastToken;
    }
  });
});
