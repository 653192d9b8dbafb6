/**
 * `uverbs_mmap` (a mapping of the uverbs file's doorbell or driver page) and the uverbs
 * designs a file may name: the mapping is a one-page buffer that loads and stores reach
 * (the doorbell's bytes are IO memory), munmap removes it, a mapping the program did not
 * get is MAP_FAILED, a zapped mapping is SIGBUS under seed and zeros under entry, and
 * catalog #17's file shows the mmap-entry design's fork-order finding with its defect
 * off in today's fork order only (README, "The catalog").
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { compile, events, returns } from "./traceEvents.ts";
import { explore } from "../../src/check/explore.ts";
import { loadScenario } from "../../src/scenario/compile.ts";

/** Process `app` under `design`: thread `main` runs `ops`, and `threads` (YAML) follow. */
const program = (design: string, ops: readonly string[], threads = "") => `
name: t
design: ${design}
processes:
  - name: app
    threads:
      - name: main
        ops:
${ops.map((op) => `          - ${op}`).join("\n")}
${threads}`;

const RING = (design: string) =>
  program(design, [
    "uverbs_mmap: { name: db, object: doorbell }",
    "uverbs_mmap: { name: page, object: page }",
    "cpu_write: { buffer: db, bytes: 1, pattern: 7 }",
    "cpu_read: { buffer: db, bytes: 1, expect: { pattern: 7 } }",
    "cpu_write: { buffer: page, offset: 100, bytes: 4, pattern: 9 }",
    "cpu_read: { buffer: page, offset: 100, bytes: 4, expect: { pattern: 9 } }",
    "munmap: { buffer: db }",
    "cpu_read: { buffer: db, bytes: 1, expect: { signal: SIGSEGV } }",
    "exit",
  ]);

for (const design of ["seed", "entry", "classic"]) {
  test(`uverbs_mmap (${design}): the doorbell and the driver page hold what the CPU stores; munmap removes the mapping`, () => {
    const evs = events(compile(RING(design)));
    const maps = returns(evs, "uverbs_mmap");
    assert.equal(maps.length, 2);
    for (const ret of maps) assert.match(String(ret), /^0x[0-9a-f]+$/);
    assert.deepEqual(returns(evs, "munmap"), [0]);
  });
}

const UNPLUG = `      - name: unplug
        kind: kernel
        ops:
          - wait: mapped
          - device_remove
          - signal: removed
`;

const AFTER_REMOVAL = (design: string, touch: string) =>
  program(
    design,
    [
      "uverbs_mmap: { name: db, object: doorbell }",
      "signal: mapped",
      "wait: removed",
      touch,
      "uverbs_mmap: { name: late, object: page, expect: { error: EIO } }",
      "cpu_write: { buffer: late, bytes: 1, pattern: 1, expect: { signal: SIGSEGV } }",
      "munmap: { buffer: late, expect: { error: EINVAL } }",
      "exit",
    ],
    UNPLUG,
  );

test("after hot unplug: seed's zapped doorbell is SIGBUS, a new mapping fails, MAP_FAILED traps", () => {
  const s = compile(
    AFTER_REMOVAL(
      "seed",
      "cpu_write: { buffer: db, bytes: 1, pattern: 1, expect: { signal: SIGBUS } }",
    ),
  );
  for (let seed = 0; seed < 5; seed++) events(s, seed);
});

test("after hot unplug: entry's zapped doorbell reads the file's zeroed page", () => {
  const s = compile(
    AFTER_REMOVAL("entry", "cpu_read: { buffer: db, bytes: 8, expect: { pattern: 0 } }"),
  );
  for (let seed = 0; seed < 5; seed++) events(s, seed);
});

const FILE = "examples/catalog/uverbs-fork-untracked.yaml";
const BUDGET = 1000;

test("catalog #17's file without its defect, entry design (v6.9+ fork order): the child's copy is untracked", () => {
  const r = explore(loadScenario(FILE), {
    strategy: "random",
    schedules: BUDGET,
    design: "entry",
    defects: [],
  });
  assert.equal(r.firstInternalError, null);
  assert.equal(r.firstFailure?.violation.kind, "untracked_io_vma");
});

test("catalog #17's file without its defect, classic (mmap-entry design, fork order before v6.9): clean", () => {
  const r = explore(loadScenario(FILE), {
    strategy: "random",
    schedules: BUDGET,
    design: "classic",
    defects: [],
    stopAtFirst: false,
  });
  assert.equal(r.firstInternalError, null);
  assert.deepEqual(r.failingIndices, []);
});
