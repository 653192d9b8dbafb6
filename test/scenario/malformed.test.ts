/**
 * The malformed-scenario corpus: every file in test/scenario/malformed/ must fail with
 * exactly the error in its sibling .error file (FILE:LINE:COL: message). YAML syntax
 * errors, which prettier cannot format as files, are checked from inline text.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";
import { ScenarioError } from "../../src/scenario/errors.ts";
import { parseScenarioText } from "../../src/scenario/parse.ts";

const DIR = "test/scenario/malformed";

function errorOf(text: string, file: string): string {
  try {
    parseScenarioText(text, file);
  } catch (error) {
    if (error instanceof ScenarioError) return error.format();
    throw error;
  }
  return "(no error)";
}

const files = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

test("the corpus has at least 40 malformed scenarios, each with its expected error", () => {
  assert.ok(files.length >= 40, `only ${files.length} files`);
  for (const f of files) {
    const expected = readFileSync(`${DIR}/${f.replace(/\.yaml$/, ".error")}`, "utf8");
    assert.match(expected, /^test\/scenario\/malformed\/.+\.yaml:\d+:\d+: .+\n$/);
  }
});

for (const f of files) {
  test(`malformed/${f} fails with its expected error`, () => {
    const file = `${DIR}/${f}`;
    const expected = readFileSync(file.replace(/\.yaml$/, ".error"), "utf8").trim();
    assert.equal(errorOf(readFileSync(file, "utf8"), file), expected);
  });
}

const SYNTAX: readonly { name: string; text: string; error: string }[] = [
  {
    name: "an unclosed flow mapping",
    text: "name: bad\nprocesses:\n  - { name: app\n",
    error: "x.yaml:4:1: YAML: ",
  },
  {
    name: "a duplicate key",
    text: "name: bad\nname: worse\nprocesses: []\n",
    error: "x.yaml:2:1: YAML: Map keys must be unique",
  },
  {
    name: "a tab used for indentation",
    text: "name: bad\nprocesses:\n\t- name: app\n",
    error: "x.yaml:3:1: YAML: ",
  },
];

for (const c of SYNTAX) {
  test(`YAML syntax: ${c.name} is reported at its position`, () => {
    assert.ok(errorOf(c.text, "x.yaml").startsWith(c.error), errorOf(c.text, "x.yaml"));
  });
}

test("an error's parts are available to callers", () => {
  try {
    parseScenarioText("name: x\nprocesses:\n  - name: a\n    colour: 1\n", "f.yaml");
    assert.fail("no error");
  } catch (error) {
    assert.ok(error instanceof ScenarioError);
    assert.deepEqual([error.file, error.line, error.col], ["f.yaml", 4, 5]);
    assert.equal(error.detail, 'processes[0]: unknown key "colour"');
  }
});

/** A one-thread scenario of `count` CPU stores, with `bad(i)` replacing some of them. */
function longScenario(count: number, bad: (i: number) => string | undefined): string {
  const head = "name: long\nprocesses:\n  - name: app\n    setup:\n      buffers:\n";
  const body =
    "        - { name: buf, pages: 4 }\n    threads:\n      - name: main\n        ops:\n";
  const ops = Array.from(
    { length: count },
    (_, i) => bad(i) ?? `          - cpu_write: { buffer: buf, offset: 0, bytes: 8, pattern: 1 }`,
  );
  return `${head}${body}${ops.join("\n")}\n`;
}

// The operations start on line 10; ops[i] is on line 10 + i.
test("errors deep in a long operation list are pinned to their lines", () => {
  const unknownKey = longScenario(3000, (i) =>
    i === 2500 ? "          - cpu_write: { buffer: buf, offset: 0, bites: 8 }" : undefined,
  );
  assert.equal(
    errorOf(unknownKey, "x.yaml"),
    'x.yaml:2510:50: processes[0].threads[0].ops[2500].cpu_write: unknown key "bites"',
  );
  const outside = longScenario(3000, (i) =>
    i === 2999
      ? "          - cpu_write: { buffer: buf, offset: 16384, bytes: 8, pattern: 1 }"
      : undefined,
  );
  assert.match(errorOf(outside, "x.yaml"), /^x\.yaml:3009:\d+: .*outside/);
});

test("a mistake repeated in every operation is reported once, at the first", () => {
  const text = longScenario(
    20_000,
    () => "          - cpu_write: { buffer: nowhere, offset: 0, bytes: 8 }",
  );
  assert.match(errorOf(text, "x.yaml"), /^x\.yaml:10:\d+: /);
});
