import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { IO_MEMORY_KINDS } from "../../src/check/catalog/uverbs/ioMemoryOracle.ts";
import { DEVICE_ACCESS_KINDS } from "../../src/check/oracles/deviceAccess.ts";
import { FAULT_PROGRESS_KINDS } from "../../src/check/oracles/faultProgress.ts";
import { LOST_DEVICE_WRITE_KINDS } from "../../src/check/oracles/lostDeviceWrite.ts";
import { TEARDOWN_LEAK_KINDS } from "../../src/check/oracles/teardownLeaks.ts";
import { isKnownViolationKind, VIOLATION_KINDS } from "../../src/check/violationKinds.ts";
import { parseScenarioText } from "../../src/scenario/parse.ts";

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "toy" ? [] : sources(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

// `k.report("kind", ...)`, `host.report(\n "kind"`, `new KernelBug("kind"`, `kind: "kind"` of a
// Violation literal: every kind the model or an oracle can produce (the toy scenarios
// of src/check/toy are the explorer's own tests and report kinds no file can name).
const REPORTED = /(?:\breport\(|KernelBug\()\s*"([a-z_]+)"|\bkind: "([a-z_]+)",\s*\n\s*message:/g;

test("every violation kind the sources report is in the registry", () => {
  const seen = new Set<string>();
  for (const file of sources("src")) {
    for (const m of readFileSync(file, "utf8").matchAll(REPORTED)) seen.add(m[1] ?? m[2] ?? "");
  }
  seen.add("warn_on"); // Kernel.warnOn reports it through a variable
  assert.ok(seen.size > 20, `only ${seen.size} kinds found: is the pattern broken?`);
  const missing = [...seen].filter((k) => !isKnownViolationKind(k));
  assert.deepEqual(missing, [], "report these kinds in src/check/violationKinds.ts");
});

/** Every oracle of src/check: each declares the kinds it reports. */
const ORACLES = [
  DEVICE_ACCESS_KINDS,
  FAULT_PROGRESS_KINDS,
  LOST_DEVICE_WRITE_KINDS,
  TEARDOWN_LEAK_KINDS,
  IO_MEMORY_KINDS,
];

test("every kind an oracle declares is registered, and a scenario file may expect it", () => {
  for (const { oracle, kinds } of ORACLES) {
    assert.ok(kinds.length > 0, oracle);
    for (const kind of kinds) {
      assert.ok(isKnownViolationKind(kind), `${oracle}: register ${kind} in violationKinds.ts`);
      const text = `name: t
processes:
  - name: app
    threads:
      - name: main
        ops: [exit]
expect:
  violation: ${kind}
`;
      assert.doesNotThrow(() => parseScenarioText(text, `${kind}.yaml`), `${oracle}: ${kind}`);
    }
  }
});

test("every registered kind has a description", () => {
  for (const [kind, what] of Object.entries(VIOLATION_KINDS)) {
    assert.match(kind, /^[a-z][a-z0-9_]*$/);
    assert.ok(what.length > 10, kind);
  }
});

test("every registered kind is one the sources report (no stale entries)", () => {
  const text = sources("src")
    .filter((f) => !f.endsWith("violationKinds.ts"))
    .map((f) => readFileSync(f, "utf8"))
    .join("\n");
  const stale = Object.keys(VIOLATION_KINDS).filter((k) => !text.includes(`"${k}"`));
  assert.deepEqual(stale, []);
});
