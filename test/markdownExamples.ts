/**
 * Tested examples in Markdown (the README, docs/your-own-design.md): fenced blocks marked
 * `<!-- readme-test: run -->` are commands (`$ npx odpsim ...`) with the output they
 * print and their exit (`[exit N]`, default 0); blocks marked
 * `<!-- readme-test: excerpt FILE -->` must appear in FILE (up to indentation). In the
 * expected output, `[..]` matches any text within a line, and a line that is only `[..]`
 * matches any number of lines.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface Block {
  readonly marker: string;
  readonly lines: readonly string[];
}

/** The marked blocks of the README, in order. */
export function markedBlocks(md: string): Block[] {
  const re = /<!-- readme-test: ([^>]*?) -->\s*\n```[a-z]*\n([\s\S]*?)```/g;
  return [...md.matchAll(re)].map((m) => ({
    marker: m[1] ?? "",
    lines: (m[2] ?? "").replace(/\n$/, "").split("\n"),
  }));
}

export interface Command {
  readonly argv: readonly string[];
  readonly expected: readonly string[];
  readonly exit: number;
}

export function commandsOf(block: Block): Command[] {
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
export function matches(
  expected: readonly string[],
  actual: readonly string[],
  e = 0,
  a = 0,
): boolean {
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
export function containsIndented(text: string, block: readonly string[]): boolean {
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

/** An `excerpt FILE` block: FILE (relative to `root`) must contain it. */
export function assertExcerpt(root: string, file: string | undefined, block: Block): void {
  assert.ok(file !== undefined, `an excerpt block names no file: ${block.marker}`);
  const text = readFileSync(join(root, file), "utf8");
  assert.ok(containsIndented(text, block.lines), `${file} does not contain the excerpt`);
}
