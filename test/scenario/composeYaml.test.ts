/**
 * composeYaml against the yaml package's parseDocument: with every finished item
 * harvested (batch 1), each file of the examples and the malformed corpus, and generated
 * documents, compose to the same value, the same first error and the same position for
 * every path; what cannot stream falls back to parseDocument.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { parseDocument, stringify } from "yaml";
import { composeYaml, type ComposedYaml } from "../../src/scenario/composeYaml.ts";
import type { SpecPath } from "../../src/scenario/errors.ts";

const WHOLE = Number.MAX_SAFE_INTEGER;

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    return entry.name.endsWith(".yaml") ? [path] : [];
  });
}

/** Every path into `value`, each with the keys of the map there (for offsetOf's `key`). */
function paths(value: unknown, at: SpecPath = []): { path: SpecPath; keys: string[] }[] {
  if (Array.isArray(value)) {
    return [{ path: at, keys: [] }, ...value.flatMap((v, i) => paths(v, [...at, i]))];
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    return [
      { path: at, keys: entries.map(([k]) => k) },
      ...entries.flatMap(([k, v]) => paths(v, [...at, k])),
    ];
  }
  return [{ path: at, keys: [] }];
}

function firstErrorOf(text: string): { pos: number; message: string } | null {
  const errors = parseDocument(text, { uniqueKeys: true, prettyErrors: false }).errors;
  const first = [...errors].sort((a, b) => a.pos[0] - b.pos[0])[0];
  return first === undefined ? null : { pos: first.pos[0], message: first.message };
}

function assertSameAsWhole(text: string, streamed: ComposedYaml, label: string): void {
  const whole = composeYaml(text, { batch: WHOLE });
  assert.deepEqual(streamed.value, parseDocument(text, { uniqueKeys: true }).toJS(), label);
  const error =
    streamed.error === null
      ? null
      : { pos: streamed.error.pos[0], message: streamed.error.message };
  assert.deepEqual(error, firstErrorOf(text), `${label}: first error`);
  for (const { path, keys } of paths(streamed.value)) {
    const where = `${label} at ${JSON.stringify(path)}`;
    assert.equal(streamed.offsetOf(path), whole.offsetOf(path), where);
    assert.ok(streamed.coarseOffsetOf(path) <= streamed.offsetOf(path), `${where}: coarse bound`);
    for (const key of keys) {
      assert.equal(streamed.offsetOf(path, key), whole.offsetOf(path, key), `${where} key ${key}`);
    }
  }
}

test("every example and malformed scenario composes as parseDocument does, item by item", () => {
  // examples/cluster holds Kubernetes manifests: several documents, not a scenario.
  const files = [...yamlFiles("examples"), ...yamlFiles("test/scenario/malformed")].filter(
    (file) => !file.startsWith("examples/cluster"),
  );
  assert.ok(files.length > 150, `only ${files.length} files`);
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    const streamed = composeYaml(text, { batch: 1 });
    assert.ok(streamed.streamed, `${file} fell back to parseDocument`);
    assertSameAsWhole(text, streamed, file);
  }
});

const scalar = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom("a: b", "- x", "# not a comment", "&anchor", "*alias", "%dir", "multi\nline"),
);
const key = fc.string({ minLength: 1, maxLength: 6 }).filter((k) => k !== "__proto__");
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: "small" }, scalar, tie("list"), tie("map")),
  list: fc.array(tie("tree"), { maxLength: 6 }),
  // __proto__ as a key is compared with parseDocument's value, not with fast-check's.
  map: fc.dictionary(key, tie("tree"), { maxKeys: 5, noNullPrototype: true }),
}));

test("generated documents in block and flow style compose as parseDocument does", () => {
  fc.assert(
    fc.property(tree, fc.boolean(), fc.integer({ min: 1, max: 3 }), (value, flow, batch) => {
      const text = stringify(value, flow ? { collectionStyle: "flow" } : {});
      const streamed = composeYaml(text, { batch });
      assert.deepEqual(streamed.value, value);
      assertSameAsWhole(text, streamed, text);
    }),
    { seed: 17, numRuns: 300 },
  );
});

test("anchors, aliases, directives and a second document fall back to parseDocument", () => {
  const cases = ["a: &x [1, 2]\nb: *x\n", "%YAML 1.2\n---\na: 1\n", "a: 1\n---\nb: 2\n"];
  for (const text of cases) {
    const composed = composeYaml(text, { batch: 1 });
    assert.equal(composed.streamed, false, text);
    const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
    assert.deepEqual(composed.value, doc.toJS());
    assert.equal(composed.error?.message, doc.errors[0]?.message);
  }
  assert.match(composeYaml("a: 1\n---\nb: 2\n").error?.message ?? "", /multiple documents/);
});

test("a block scalar that begins with & or * still streams", () => {
  const text = "notes:\n  - |\n    &not an anchor\n  - >\n    *nor an alias\n";
  const composed = composeYaml(text, { batch: 1 });
  assert.equal(composed.streamed, true);
  assert.deepEqual(composed.value, { notes: ["&not an anchor\n", "*nor an alias\n"] });
});

test("a long sequence is harvested: its items' positions are found again from their spans", () => {
  const items = Array.from({ length: 1000 }, (_, i) => `  - { n: ${i}, name: item${i} }`);
  const text = `list:\n${items.join("\n")}\n`;
  const composed = composeYaml(text);
  assert.equal(composed.streamed, true);
  assert.equal((composed.value as { list: unknown[] }).list.length, 1000);
  const line = (offset: number) => composed.lines.linePos(offset);
  assert.deepEqual(line(composed.offsetOf(["list", 700, "name"])), { line: 702, col: 21 });
  assert.deepEqual(line(composed.offsetOf(["list", 700], "name")), { line: 702, col: 15 });
  assert.deepEqual(line(composed.coarseOffsetOf(["list", 700, "name"])), { line: 702, col: 3 });
});
