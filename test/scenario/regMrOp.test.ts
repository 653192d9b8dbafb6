/**
 * `reg_mr` (a registration from a thread) and `advise_mr`'s `nextKey` (an advise on a
 * key guessed from another MR's): a thread's MR joins the process's MRs when its
 * registration returns, an operation naming it before then fails with -EINVAL, and the
 * guessed key is the one the next registration gets. Return values are read from the
 * trace (`NAME:end`).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { compile, events, returns } from "./traceEvents.ts";
import { mlx5MkeyAfter } from "../../src/rdma/mlx5/mlx5IbDev.ts";
import { runOnce } from "../../src/scenario/runOnce.ts";

const THREAD_MR = `
name: t
processes:
  - name: app
    setup:
      buffers:
        - { name: buf, pages: 2, fill: 0x11 }
    threads:
      - name: main
        ops:
          - reg_mr: { name: mr, buffer: buf, offset: 4096 }
          - signal: registered
          - wait: written
          - dereg_mr: { mr: mr }
      - name: nic
        kind: nic
        ops:
          - wait: registered
          - dma_write: { mr: mr, offset: 0, bytes: 16, pattern: 0xa0 }
          - signal: written
expect:
  data:
    - { buffer: buf, offset: 4096, bytes: 16, pattern: 0xa0 }
    - { buffer: buf, offset: 0, bytes: 16, pattern: 0x11 }
`;

test("reg_mr from a thread: the NIC writes through the MR after it, dereg destroys it", () => {
  const s = compile(THREAD_MR);
  for (let seed = 0; seed < 10; seed++) {
    const { report } = runOnce(s, { seed });
    assert.ok(report.clean, `seed ${seed}: ${JSON.stringify(report.violations)}`);
    assert.deepEqual(
      report.dataChecks.map((c) => c.status),
      ["passed", "passed"],
    );
  }
  const evs = events(s);
  const reg = evs.find((e) => e.label === "reg_mr");
  // The MR is over the buffer's second page: its iova is there, not at the buffer.
  assert.equal(reg?.fields?.bytes, 4096);
  assert.match(String(returns(evs, "reg_mr")[0]), /^lkey 0x[0-9a-f]+$/);
  assert.deepEqual(returns(evs, "dereg_mr"), [0]);
});

const BEFORE_REG = `
name: t
processes:
  - name: app
    setup:
      buffers:
        - { name: buf, pages: 1 }
    threads:
      - name: early
        ops:
          - dereg_mr: { mr: mr, expect: { error: EINVAL } }
          - signal: tried
      - name: main
        ops:
          - wait: tried
          - reg_mr: { name: mr, buffer: buf }
          - dereg_mr: { mr: mr }
`;

test("an operation on a thread's MR before its reg_mr returns fails with -EINVAL", () => {
  const evs = events(compile(BEFORE_REG));
  assert.ok(evs.some((e) => e.label.startsWith("no such MR yet")));
  assert.deepEqual(returns(evs, "dereg_mr"), ["-EINVAL", 0]);
});

test("... and is an unexpected_error when the file does not expect it", () => {
  const s = compile(BEFORE_REG.replace(", expect: { error: EINVAL }", ""));
  const { report } = runOnce(s, { seed: 0 });
  assert.deepEqual(
    report.violations.map((v) => v.kind),
    ["unexpected_error"],
  );
});

const GUESS = `
name: t
processes:
  - name: app
    setup:
      buffers:
        - { name: buf, pages: 1, fill: 0x11 }
      registrations:
        - { name: mr, buffer: buf }
    threads:
      - name: main
        ops:
          - advise_mr: { mr: mr, nextKey: 1, flush: true, expect: { error: EFAULT } }
          - reg_mr: { name: mr2, buffer: buf }
          - advise_mr: { mr: mr, nextKey: 1, flush: true }
          - advise_mr: { mr: mr, nextKey: 2, flush: true, expect: { error: EFAULT } }
          - dereg_mr: { mr: mr2 }
`;

test("advise_mr nextKey: the key of the next registration, unknown before it and advised after", () => {
  const evs = events(compile(GUESS));
  // The default design is classic, whose v5.3 FLUSH prefetch is pagefault_single_data_segment:
  // a key it does not find is -EFAULT (v5.16+ says -ENOENT: mkeyLookup.test.ts).
  assert.deepEqual(returns(evs, "advise_mr"), ["-EFAULT", 0, "-EFAULT"]);
  const keys = evs.filter((e) => e.label === "reg_mr").map((e) => Number(e.fields?.lkey));
  const [first, second] = keys;
  assert.ok(first !== undefined && second !== undefined);
  assert.equal(second, mlx5MkeyAfter(first, 1));
});
