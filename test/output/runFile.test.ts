import assert from "node:assert/strict";
import { test } from "node:test";
import { buildRunFile, serializeRunFile, type RunFile } from "../../src/output/runFile.ts";
import { parseRunFile, parseRunFileText, RunFileError } from "../../src/output/runFileSchema.ts";
import { Kernel } from "../../src/sim/kernel.ts";
import { KernelBug } from "../../src/sim/violation.ts";
import type { KGen } from "../../src/sim/task.ts";
import { staleRace } from "./fixtures/staleRace.ts";

const DESCRIPTION = { scenario: "s", design: "classic", defects: [], seed: 0, strategy: "first" };

test("a run file carries the run's meta, trace, violations, report and snapshots", () => {
  const { result, run } = staleRace();
  assert.equal(run.version, 1);
  assert.deepEqual(run.meta, {
    scenario: "stale-race (test fixture)",
    design: "classic",
    defects: ["toy-no-seq-check"],
    seed: 0,
    strategy: "first",
    status: "violation",
    steps: result.steps,
    timeNs: 500,
  });
  assert.equal(run.tasks.length, 3);
  assert.equal(run.entries.length, result.trace?.entries.length);
  assert.equal(run.violations[0]?.kind, "stale_device_translation");
  assert.match(run.report ?? "", /notifier sequence/);
  assert.deepEqual(
    run.snapshots.map((s) => s.step),
    [0, 4, 10],
  );
  const last = run.snapshots.at(-1);
  assert.deepEqual(
    last?.mrs[0]?.entries.map((e) => e.stale),
    [true],
  );
});

test("a serialized run file parses back to the same value", () => {
  const { run } = staleRace();
  const text = serializeRunFile(run);
  assert.deepEqual(parseRunFileText(text), JSON.parse(text) as RunFile);
});

test("violation details are made JSON-safe; snapshots are sorted by step", () => {
  const k = new Kernel({ trace: true });
  const shared = { n: 1 };
  k.spawn("t", { kind: "process", name: "p" }, function* (): KGen {
    yield "x";
    throw new KernelBug("bug_on", "boom", { big: 10n, a: shared, b: shared });
  });
  const result = k.run();
  const snap = (step: number) => ({ step, processes: [], mrs: [] });
  const run = buildRunFile(result, DESCRIPTION, [snap(5), snap(1)]);
  assert.deepEqual(run.violations[0]?.details, { big: "10", a: { n: 1 }, b: "[repeated]" });
  assert.deepEqual(
    run.snapshots.map((s) => s.step),
    [1, 5],
  );
  parseRunFileText(serializeRunFile(run));
});

test("an untraced run cannot make a run file", () => {
  const k = new Kernel();
  assert.throws(() => buildRunFile(k.run(), DESCRIPTION), /traced run/);
});

test("bad run files are rejected with a message saying what and where", () => {
  const { run } = staleRace();
  const good = JSON.parse(serializeRunFile(run)) as Record<string, unknown>;
  const cases: [unknown, RegExp][] = [
    [[1], /expected a JSON object/],
    [{ ...good, version: 2 }, /unsupported run file version 2: this odpsim reads version 1/],
    [{ ...good, version: undefined }, /version \(missing\)/],
    [{ ...good, tasks: undefined }, /^invalid run file: tasks: /],
    [{ ...good, entries: [{ step: 0 }] }, /^invalid run file: entries\.0\.timeNs: /],
    [{ ...good, meta: { ...(good.meta as object), status: "great" } }, /meta\.status/],
  ];
  for (const [value, message] of cases) {
    assert.throws(
      () => parseRunFile(value),
      (e: unknown) => e instanceof RunFileError && message.test(e.message),
    );
  }
  assert.throws(() => parseRunFileText("{nope"), /^RunFileError: not JSON: /);
});
