/**
 * The HMM test device in scenario files (src/scenario/mirrors.ts): `setup.mirrors` opens
 * a dmirror over the process, and mirror_read / mirror_write / mirror_snapshot /
 * mirror_close run its commands, each judged against its `expect`. Each test reads what
 * the run did from its trace events and its world.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runScenario } from "../../src/check/scenario.ts";
import { UniformRandom } from "../../src/sim/strategies/uniformRandom.ts";
import type { TraceEntry } from "../../src/sim/trace.ts";
import { compileScenario, type CompiledScenario } from "../../src/scenario/compile.ts";
import { mirrorProtByte, mirrorProtName } from "../../src/scenario/mirrors.ts";
import { parseScenarioText } from "../../src/scenario/parse.ts";

/** One process with a 4-page buffer (`buffer` says how) and mirror m; `ops` its thread. */
function compile(ops: string, buffer = "{ name: buf, pages: 4, fill: 0x11 }"): CompiledScenario {
  const lines = ops
    .trim()
    .split("\n")
    .map((l) => `          ${l.trim()}`);
  const text = `
name: t
processes:
  - name: app
    setup:
      buffers: [${buffer}]
      mirrors: [{ name: m }]
    threads:
      - name: main
        ops:
${lines.join("\n")}
`;
  return compileScenario(parseScenarioText(text, "inline.yaml"));
}

function run(s: CompiledScenario, seed = 0) {
  return runScenario(s, { seed, strategy: new UniformRandom(), trace: true });
}

function events(r: ReturnType<typeof run>, label: string): TraceEntry[] {
  return (r.result.trace?.entries ?? []).filter((e) => e.kind === "event" && e.label === label);
}

test("setup.mirrors opens a dmirror: an interval notifier over the process", () => {
  const r = run(compile("- sleep_us: 1"));
  assert.deepEqual(r.violations, []);
  const inserts = events(r, "mmu_interval_notifier_insert").map((e) => e.fields?.ops);
  assert.deepEqual(inserts, ["dmirror"]);
  assert.equal(r.result.status, "ok");
});

test("mirror_read faults the range in and returns the process's bytes", () => {
  const r = run(
    compile(`
      - mirror_read: { mirror: m, buffer: buf, expect: { pattern: 0x11, cpages: 4, faults: 1 } }
      - mirror_read: { mirror: m, buffer: buf, pages: 2, expect: { pattern: 0x11, faults: 0 } }
    `),
  );
  assert.deepEqual(r.violations, []);
  const cmds = events(r, "dmirror_cmd").map((e) => [e.fields?.cpages, e.fields?.faults]);
  // The second read finds the device page table filled: no fault.
  assert.deepEqual(cmds, [
    [4, 1],
    [2, 0],
  ]);
});

test("a mirror_read that reads other bytes than expected is a data_mismatch", () => {
  const r = run(compile("- mirror_read: { mirror: m, buffer: buf, expect: { text: 'hi' } }"));
  assert.deepEqual(
    r.violations.map((v) => v.kind),
    ["data_mismatch"],
  );
  assert.match(r.violations[0]?.message ?? "", /app\/main op 0 mirror_read: expected "hi"/);
});

test("mirror_write stores through the device; the CPU and the data checks see it", () => {
  const r = run(
    compile(`
      - mirror_write: { mirror: m, buffer: buf, offset: 4096, pages: 1, pattern: 0x5a, expect: { cpages: 1 } }
      - cpu_read: { buffer: buf, offset: 4096, bytes: 4096, expect: { pattern: 0x5a } }
      - cpu_read: { buffer: buf, offset: 8192, bytes: 16, expect: { pattern: 0x11 } }
    `),
  );
  assert.deepEqual(r.violations, []);
});

test("mirror_snapshot reports each page's CPU permission without faulting (hmm-tests snapshot)", () => {
  const s = compile(
    `
      - munmap: { buffer: buf, pages: 1 }
      - cpu_read: { buffer: buf, offset: 4096, bytes: 4 }
      - cpu_write: { buffer: buf, offset: 8192, bytes: 4, pattern: 3 }
      - mprotect: { buffer: buf, offset: 8192, pages: 1, prot: [read] }
      - mirror_snapshot: { mirror: m, buffer: buf, expect: { prot: [error, read+zero, read, none], cpages: 4 } }
      - mirror_snapshot: { mirror: m, buffer: buf, offset: 12288, expect: { prot: [none] } }
    `,
    "{ name: buf, pages: 4 }",
  );
  const r = run(s);
  assert.deepEqual(r.violations, []);
  // A wrong permission is reported with both names.
  const wrong = structuredClone(s.spec);
  const op = wrong.processes[0]?.threads?.[0]?.ops[4];
  assert.ok(typeof op === "object" && op.mirror_snapshot?.expect?.prot !== undefined);
  op.mirror_snapshot.expect.prot[3] = "write";
  const bad = run(compileScenario({ file: s.file, spec: wrong }));
  assert.deepEqual(
    bad.violations.map((v) => v.message),
    ["app/main op 4 mirror_snapshot: page 3 is none, expected write"],
  );
});

test("snapshot permission names round-trip through their bytes", () => {
  for (const name of ["error", "none", "read", "write", "read+zero", "write+pmd", "read+zero+pmd"])
    assert.equal(mirrorProtName(mirrorProtByte(name)), name);
  assert.equal(mirrorProtByte("read+zero"), 0x11);
});

test("a command's error is judged: none by default, or the errno it must return", () => {
  const closed = `
      - mirror_close: { mirror: m }
      - mirror_read: { mirror: m, buffer: buf, pages: 1, expect: { error: EBADF } }
      - mirror_close: { mirror: m }
  `;
  const r = run(compile(closed));
  assert.deepEqual(r.violations, []);
  assert.deepEqual(
    events(r, "mirror_close:end").map((e) => e.fields?.ret),
    [0, "-EBADF"],
  );
  // The release ran: the dmirror's notifier is gone and the dmirror freed.
  assert.deepEqual(
    events(r, "mmu_interval_notifier_remove").map((e) => e.fields?.ops),
    ["dmirror"],
  );
  const unexpected = run(
    compile("- mirror_close: { mirror: m }\n- mirror_read: { mirror: m, buffer: buf }"),
  );
  assert.deepEqual(
    unexpected.violations.map((v) => v.message),
    ["app/main op 1 mirror_read failed: -EBADF"],
  );
  const missing = run(
    compile("- mirror_read: { mirror: m, buffer: buf, expect: { error: EFAULT } }"),
  );
  assert.deepEqual(
    missing.violations.map((v) => v.message),
    ["app/main op 0 mirror_read: expected -EFAULT, it succeeded"],
  );
  // Reading a page the process cannot read fails as hmm-tests expects.
  const prot = run(
    compile(`
      - mprotect: { buffer: buf, pages: 1, prot: [] }
      - mirror_read: { mirror: m, buffer: buf, pages: 1, expect: { error: EFAULT } }
    `),
  );
  assert.deepEqual(prot.violations, []);
});

test("the process's exit closes its mirror (dmirror_fops_release from exit_files)", () => {
  const s = compile("- mirror_read: { mirror: m, buffer: buf }\n- exit");
  const r = run(s);
  assert.deepEqual(r.violations, []);
  const mirror = s.worldOf(r.kernel).procs.get("app")?.mirrors.get("m");
  assert.equal(mirror?.dmirror.freed, true);
  assert.deepEqual(
    events(r, "mmu_interval_notifier_remove").map((e) => e.fields?.ops),
    ["dmirror"],
  );
});

test("a migration invalidates the mirror: a read racing it, and the read after it, refault", () => {
  const s = compileScenario(
    parseScenarioText(
      `
name: t
processes:
  - name: app
    setup:
      buffers: [{ name: buf, pages: 8, fill: 0x11 }]
      mirrors: [{ name: m }]
    threads:
      - name: dev
        ops:
          - mirror_read: { mirror: m, buffer: buf, expect: { pattern: 0x11 } }
          - sleep_us: 10
          - mirror_read: { mirror: m, buffer: buf, expect: { pattern: 0x11 } }
          - mirror_read: { mirror: m, buffer: buf, expect: { pattern: 0x11, faults: 0 } }
      - name: numa
        kind: kernel
        ops:
          - migrate: { buffer: buf }
          - sleep_us: 5
          - migrate: { buffer: buf }
`,
      "inline.yaml",
    ),
  );
  for (let seed = 0; seed < 30; seed++) {
    const r = run(s, seed);
    assert.deepEqual(r.violations, [], `seed ${seed}`);
    // The second migration erased the device's entries: the next read faults them in.
    const faults = events(r, "dmirror_cmd").map((e) => e.fields?.faults);
    assert.deepEqual(faults, [1, 1, 0], `seed ${seed}`);
  }
});
