/**
 * Compiling scenario files into Scenarios: the context overrides the file, the
 * expectations become violations, runs are deterministic, and the operations do what
 * their names say.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { explore } from "../../src/check/explore.ts";
import { runScenario } from "../../src/check/scenario.ts";
import { UniformRandom } from "../../src/sim/strategies/uniformRandom.ts";
import {
  compileScenario,
  loadScenario,
  type CompiledScenario,
} from "../../src/scenario/compile.ts";
import { parseScenarioText } from "../../src/scenario/parse.ts";
import { runOnce } from "../../src/scenario/runOnce.ts";

function compile(text: string): CompiledScenario {
  return compileScenario(parseScenarioText(text, "inline.yaml"));
}

const ONE_BUFFER = `
name: t
processes:
  - name: app
    setup:
      buffers:
        - { name: buf, pages: 2, fill: 0x11 }
      registrations:
        - { name: mr, buffer: buf }
    threads:
`;

test("ctx.defects overrides the file's defects: without them the race is gone", () => {
  const s = loadScenario("examples/10-catalog-no-retry-check.yaml");
  const withDefect = explore(s, {
    strategy: "random",
    schedules: 300,
    defects: ["classic-no-retry-check"],
  });
  assert.equal(withDefect.firstFailure?.violation.kind, "device_translation_outlives_frame");
  const without = explore(s, { strategy: "random", schedules: 300, defects: [] });
  assert.equal(without.found, false);
});

test("ctx.design overrides the file's design; an unknown design is refused", () => {
  const s = loadScenario("examples/01-explicit-fault-in.yaml");
  const { report } = runOnce(s, { seed: 1, design: "hmm-mirror" });
  assert.equal(report.design, "hmm-mirror");
  assert.ok(report.clean);
  assert.throws(() => s.build({ seed: 0, strategy: new UniformRandom(), design: "nope" }), /nope/);
});

test("a data check that does not hold becomes a data_mismatch violation after the run", () => {
  const s = compile(
    `${ONE_BUFFER}      - name: nic
        kind: nic
        ops:
          - dma_write: { mr: mr, bytes: 8, pattern: 0xa0 }
expect:
  data:
    - { buffer: buf, offset: 0, bytes: 8, pattern: 0xa0 }
    - { buffer: buf, offset: 8, bytes: 8, pattern: 0xa0 }
`,
  );
  const { report } = runOnce(s, { seed: 0 });
  assert.equal(report.status, "ok");
  assert.deepEqual(
    report.dataChecks.map((c) => c.status),
    ["passed", "failed"],
  );
  assert.deepEqual(
    report.violations.map((v) => v.kind),
    ["data_mismatch"],
  );
  assert.match(report.violations[0]?.message ?? "", /expected 0xa0 x8, got 11 11/);
});

test("a signal the operation did not expect is a violation; an expected one is not", () => {
  const ops = (expect: string): string =>
    `${ONE_BUFFER}      - name: main
        ops:
          - munmap: { buffer: buf, pages: 1 }
          - cpu_read: { buffer: buf, bytes: 4${expect} }
`;
  const bad = runOnce(compile(ops("")), { seed: 0 }).report;
  assert.deepEqual(
    bad.violations.map((v) => v.kind),
    ["unexpected_signal"],
  );
  const good = runOnce(compile(ops(", expect: { signal: SIGSEGV }")), { seed: 0 }).report;
  assert.ok(good.clean);
  const wrong = runOnce(compile(ops(", expect: { signal: SIGBUS }")), { seed: 0 }).report;
  assert.deepEqual(
    wrong.violations.map((v) => v.kind),
    ["expectation_failed"],
  );
});

test("an inline read expectation that fails is reported where it happens", () => {
  const s = compile(
    `${ONE_BUFFER}      - name: nic
        kind: nic
        ops:
          - dma_read: { mr: mr, bytes: 4, expect: { hex: "11 11 11 12" } }
`,
  );
  const { report } = runOnce(s, { seed: 0 });
  const [first] = report.violations;
  assert.ok(first !== undefined);
  assert.equal(first.kind, "data_mismatch");
  assert.match(String(first.task), /^nic/);
});

test("a run is deterministic: the same seed gives the same trace", () => {
  const s = loadScenario("examples/05-fork-cow.yaml");
  const hash = (seed: number): string =>
    runScenario(s, { seed, strategy: new UniformRandom(), trace: true }).result.trace?.hash() ?? "";
  assert.equal(hash(3), hash(3));
  assert.notEqual(hash(3), "");
});

test("a setup step that fails is reported as scenario_setup_failed", () => {
  const s = compile(`
name: t
hosts:
  - { name: h, frames: 16 }
processes:
  - name: app
    setup:
      buffers:
        - { name: big, pages: 64, fill: 1 }
`);
  const { report } = runOnce(s, { seed: 0 });
  const [first] = report.violations;
  assert.ok(first !== undefined);
  assert.equal(first.kind, "scenario_setup_failed");
  assert.match(first.message, /buffer big/);
});

test("mremap moves the buffer and later operations follow it", () => {
  const s = compile(`
name: t
processes:
  - name: app
    setup:
      buffers:
        - { name: buf, pages: 1, fill: 0x33 }
        - { name: after, pages: 1 }
    threads:
      - name: main
        ops:
          - mremap: { buffer: buf, pages: 4 }
          - cpu_write: { buffer: buf, offset: 12288, bytes: 4, pattern: 0x44 }
expect:
  data:
    - { buffer: buf, offset: 0, bytes: 4096, pattern: 0x33 }
    - { buffer: buf, offset: 12288, bytes: 4, pattern: 0x44 }
`);
  const { report } = runOnce(s, { seed: 0 });
  assert.ok(report.clean, JSON.stringify(report.violations));
  assert.deepEqual(
    report.dataChecks.map((c) => c.status),
    ["passed", "passed"],
  );
});

test("a changed file is a different scenario for replay tokens", () => {
  const a = compile(`${ONE_BUFFER}      - { name: t, ops: [{ sleep_us: 1 }] }\n`);
  const b = compile(`${ONE_BUFFER}      - { name: t, ops: [{ sleep_us: 2 }] }\n`);
  assert.equal(a.name, b.name);
  assert.notEqual(a.description, b.description);
});
