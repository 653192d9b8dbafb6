/**
 * The scenario generator: every draw is a valid scenario file (through YAML, the schema
 * and validate.ts), the vocabulary is covered, and the options restrict it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { stringify } from "yaml";
import { scenarioArbitrary } from "../../../src/scenario/generate/scenarioArbitrary.ts";
import { ALL_OP_NAMES, NOT_GENERATED_OPS } from "../../../src/scenario/generate/options.ts";
import { OP_THREAD_KINDS, opNames } from "../../../src/scenario/opSpec.ts";
import { parseScenarioText } from "../../../src/scenario/parse.ts";
import type { ScenarioSpec } from "../../../src/scenario/schema.ts";
import { MLX5_ODP_DESIGN_NAMES } from "../../../src/rdma/mlx5/odp/designs.ts";

function opsOf(spec: ScenarioSpec): string[] {
  return spec.processes.flatMap((p) => (p.threads ?? []).flatMap((t) => t.ops.flatMap(opNames)));
}

test("500 draws are each a valid scenario file", () => {
  const draws = fc.sample(scenarioArbitrary({ faultSites: ["alloc", "process_kill"] }), {
    seed: 17,
    numRuns: 500,
  });
  for (const [i, spec] of draws.entries()) {
    assert.doesNotThrow(() => parseScenarioText(stringify(spec), `draw${i}.yaml`), `draw ${i}`);
  }
});

test("draws cover every operation kind, design, MR kind and mapping kind", () => {
  const draws = fc.sample(scenarioArbitrary(), { seed: 3, numRuns: 400 });
  const ops = new Set(draws.flatMap(opsOf));
  assert.deepEqual(
    ALL_OP_NAMES.filter((n) => !ops.has(n)),
    [],
  );
  // Every operation of the language but uverbs_mmap, which is left out on purpose
  // (docs/fuzzing.md, "What a program is"): new vocabulary would redraw every program.
  assert.deepEqual(NOT_GENERATED_OPS, ["uverbs_mmap"]);
  assert.deepEqual(
    Object.keys(OP_THREAD_KINDS).filter((n) => !ALL_OP_NAMES.includes(n as never)),
    NOT_GENERATED_OPS,
  );
  for (const n of NOT_GENERATED_OPS) assert.ok(!ops.has(n), n);
  const designs = new Set(draws.map((d) => d.design));
  assert.deepEqual(
    MLX5_ODP_DESIGN_NAMES.filter((d) => !designs.has(d)),
    [],
  );
  const regs = draws.flatMap((d) => d.processes.flatMap((p) => p.setup?.registrations ?? []));
  assert.ok(regs.some((r) => r.implicit === true));
  assert.ok(regs.some((r) => r.buffer !== undefined));
  const flags = draws.flatMap((d) =>
    d.processes.flatMap((p) => (p.setup?.buffers ?? []).flatMap((b) => b.flags ?? ["anon"])),
  );
  for (const f of ["anon", "file", "shared", "hugetlb"]) assert.ok(flags.includes(f), f);
  assert.ok(draws.some((d) => d.processes.some((p) => p.forkOf !== undefined)));
  assert.ok(draws.some((d) => (d.hosts ?? []).length === 2));
  assert.ok(draws.every((d) => d.defects === undefined));
  // Left out on purpose (docs/fuzzing.md, "What a program is"): a new vocabulary item
  // would redraw every program and move the figures measured on the current ones.
  assert.ok(draws.every((d) => d.backports === undefined));
  assert.ok(draws.every((d) => d.processes.every((p) => p.setup?.userptrs === undefined)));
});

test("options restrict the operations, designs and fault sites", () => {
  const draws = fc.sample(
    scenarioArbitrary({ ops: ["dma_write", "munmap"], designs: ["interval"], faultSites: ["umr"] }),
    { seed: 5, numRuns: 200 },
  );
  const allowed = new Set(["dma_write", "munmap", "signal", "wait"]);
  assert.deepEqual(
    draws.flatMap(opsOf).filter((n) => !allowed.has(n)),
    [],
  );
  assert.ok(draws.every((d) => d.design === "interval"));
  const sites = new Set(draws.flatMap((d) => d.faults?.sites ?? []));
  assert.deepEqual([...sites], ["umr"]);
  assert.ok(draws.some((d) => d.faults === undefined));
});

test("the same seed draws the same scenarios", () => {
  const a = fc.sample(scenarioArbitrary(), { seed: 9, numRuns: 20 });
  const b = fc.sample(scenarioArbitrary(), { seed: 9, numRuns: 20 });
  assert.deepEqual(a, b);
});
