/**
 * Which runs of a generated program say something about the model: a deadlock of the
 * program's own events and the scenario runtime's kinds do not; any other violation does.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { isProgramViolation } from "../../../src/scenario/fuzz/outcome.ts";
import type { Violation } from "../../../src/sim/violation.ts";

function violation(kind: string, details: Record<string, unknown> = {}): Violation {
  return { kind, message: kind, step: 1, timeNs: 0, task: null, details };
}

const deadlock = (...waits: string[]) =>
  violation("deadlock", {
    blocked: waits.map((w, i) => ({ task: `t${i}`, waitsOn: w, holds: [] })),
  });

test("a deadlock on the program's own events is the program's", () => {
  assert.equal(isProgramViolation(deadlock("completion event e0", "completion event e1")), true);
});

test("a SIGKILL joining a thread that waits on the program's event is the program's", () => {
  assert.equal(isProgramViolation(deadlock("join of t0#3", "completion event e0")), true);
});

test("a deadlock with any task waiting on something else is the model's", () => {
  assert.equal(
    isProgramViolation(deadlock("completion event e0", "completion rsc_free(qp 256)")),
    false,
  );
  assert.equal(isProgramViolation(deadlock("mmap_lock")), false);
});

test("the scenario runtime's kinds are the program's, the model's kinds are not", () => {
  assert.equal(isProgramViolation(violation("expectation_failed")), true);
  assert.equal(isProgramViolation(violation("scenario_setup_failed")), true);
  assert.equal(isProgramViolation(violation("use_after_free")), false);
  assert.equal(isProgramViolation(violation("leak_at_teardown")), false);
});
