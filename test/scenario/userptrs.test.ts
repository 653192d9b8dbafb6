/**
 * i915 GEM userptr objects in scenario files (src/scenario/userptrs.ts): `setup.userptrs`
 * registers the process's i915 mmu_notifier once and makes each object active; the
 * notifier refuses a non-blockable invalidation over an active object and, when it may
 * block, unbinds the object instead. `backports: [mmu-notifier-range-end-pairing]` puts
 * the pairing of ends after a refused start into the classic design's kernel.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runScenario } from "../../src/check/scenario.ts";
import { UniformRandom } from "../../src/sim/strategies/uniformRandom.ts";
import type { TraceEntry } from "../../src/sim/trace.ts";
import { compileScenario, type CompiledScenario } from "../../src/scenario/compile.ts";
import { parseScenarioText } from "../../src/scenario/parse.ts";

/** One process with buffer ubuf under userptrs a (page 0) and b (page 1); `threads` its own. */
function compile(threads: string, top = ""): CompiledScenario {
  const text = `
name: t
${top}
processes:
  - name: app
    setup:
      buffers: [{ name: ubuf, pages: 2, fill: 0x22 }]
      userptrs:
        - { name: a, buffer: ubuf, pages: 1 }
        - { name: b, buffer: ubuf, offset: 4096 }
    threads:
${threads}
`;
  return compileScenario(parseScenarioText(text, "inline.yaml"));
}

function run(s: CompiledScenario, seed = 0) {
  return runScenario(s, { seed, strategy: new UniformRandom(), trace: true });
}

function events(r: ReturnType<typeof run>, label: string): TraceEntry[] {
  return (r.result.trace?.entries ?? []).filter((e) => e.kind === "event" && e.label === label);
}

test("setup.userptrs makes each object over its range; one notifier serves them all", () => {
  const s = compile("      - { name: main, ops: [{ sleep_us: 1 }] }");
  const r = run(s);
  assert.deepEqual(r.violations, []);
  const made = events(r, "i915_gem_userptr").map((e) => [e.fields?.userptr, e.fields?.bytes]);
  assert.deepEqual(made, [
    ["a", 4096],
    ["b", 4096],
  ]);
  const registered = events(r, "mmu_notifier_register").map((e) => e.fields?.ops);
  assert.deepEqual(registered, ["i915_gem_userptr_notifier"]);
  const objects = [...(s.worldOf(r.kernel).procs.get("app")?.userptrs.values() ?? [])];
  assert.equal(objects.length, 2);
  assert.ok(objects.every((mo) => mo.node !== null && mo.mn === objects[0]?.mn));
});

test("the OOM reaper's non-blockable start is refused by the userptr notifier", () => {
  const r = run(compile("      - { name: reaper, kind: kernel, ops: [oom_reap] }"));
  assert.deepEqual(r.violations, []);
  const refused = events(r, "mmu_notifier_start_failed").map((e) => e.fields?.ops);
  assert.ok(refused.length > 0);
  assert.ok(refused.every((ops) => ops === "i915_gem_userptr_notifier"));
});

test("a blockable invalidation (munmap) unbinds the object instead of refusing", () => {
  const r = run(
    compile(`      - name: main
        ops:
          - munmap: { buffer: ubuf, pages: 1 }
          - cpu_write: { buffer: ubuf, offset: 4096, bytes: 8, pattern: 1 }`),
  );
  assert.deepEqual(r.violations, []);
  assert.deepEqual(events(r, "mmu_notifier_start_failed"), []);
});

test("without the backport the refused start leaves the RDMA per-mm notifier's end out", () => {
  const threads = `
      - { name: reaper, kind: kernel, ops: [oom_reap, { signal: reaped }] }
      - { name: user, ops: [{ wait: reaped }, { dereg_mr: { mr: mr } }] }`;
  const withMr = (top: string): CompiledScenario => {
    const text = `
name: t
design: classic
${top}
processes:
  - name: app
    setup:
      buffers:
        - { name: buf, pages: 2, flags: [shared, anonymous], fill: 0x11 }
        - { name: ubuf, pages: 2, fill: 0x22 }
      registrations: [{ name: mr, buffer: buf }]
      userptrs: [{ name: obj, buffer: ubuf }]
    threads:${threads}
`;
    return compileScenario(parseScenarioText(text, "inline.yaml"));
  };
  const v53 = run(withMr(""));
  assert.deepEqual(
    v53.violations.map((v) => v.kind),
    ["deadlock"],
  );
  const backported = run(withMr("backports: [mmu-notifier-range-end-pairing]"));
  assert.deepEqual(backported.violations, []);
});
