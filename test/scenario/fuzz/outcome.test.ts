/**
 * Which runs of a generated program say something about the model: a deadlock of the
 * program's own events (or of a requester whose ACK timer the program switched off) and
 * the scenario runtime's kinds do not; any other violation does.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { explore } from "../../../src/check/explore.ts";
import { compileScenario } from "../../../src/scenario/compile.ts";
import { isProgramViolation } from "../../../src/scenario/fuzz/outcome.ts";
import { parseScenarioText } from "../../../src/scenario/parse.ts";
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

test("a requester waiting for an answer (ACK timer off) is the program's, with a lock wait it is not", () => {
  assert.equal(isProgramViolation(deadlock("wait queue ack_wait(qp 256)")), true);
  assert.equal(isProgramViolation(deadlock("wait queue ack_wait(qp 256)", "mmap_lock")), false);
  assert.equal(isProgramViolation(deadlock("wait queue ack_wait_other(qp 256)")), false);
});

// The soak's interval "deadlock at the scheduler" (seed 1, program 7746), shrunk: p1's RDMA
// READ times out behind the responder page fault on p0's implicit MR, runs out of retries
// and puts p1's QP in the error state; p0's SEND then reaches a QP that drops it, and p0's
// requester, its ACK timer off (timeout 0), waits for ever. With a timer it gives up.
const PEER_IN_ERROR = (timeout: number) => `
name: send-to-a-peer-in-error
design: interval
hosts: [{ name: host0, frames: 64 }]
processes:
  - name: p0
    setup:
      files: [{ name: f0, pages: 1 }]
      buffers: [{ name: b0, pages: 1, flags: [shared, file], file: f0 }]
      registrations: [{ name: mr0, implicit: true }]
      qps: [{ name: qp, timeout: ${String(timeout)} }]
    threads:
      - name: t0
        ops:
          - post_send: { qp: qp, mr: mr0, buffer: b0, offset: 0, bytes: 1, expect: { error: any } }
  - name: p1
    setup:
      buffers: [{ name: b0, pages: 1 }]
      registrations: [{ name: mr0, implicit: true }]
      qps: [{ name: qp, timeout: 1, connect: { process: p0, qp: qp } }]
    threads:
      - name: t0
        ops:
          - post_send:
              qp: qp
              opcode: rdma_read
              mr: mr0
              buffer: b0
              offset: 0
              bytes: 1
              remote: { mr: mr0, buffer: b0, offset: 0 }
              expect: { error: any }
`;

test("a SEND to a peer QP in the error state with the ACK timer off hangs the requester, by the program's choice", () => {
  const run = (timeout: number) =>
    explore(compileScenario(parseScenarioText(PEER_IN_ERROR(timeout), "peer.yaml")), {
      strategy: "random",
      schedules: 50,
      seed: 0,
      timing: "free",
    });
  const off = run(0).firstFailure?.violation;
  assert.equal(off?.kind, "deadlock");
  assert.match(off.message, /qp256\.req#\d+ waits on wait queue ack_wait\(qp 256\)/);
  assert.equal(isProgramViolation(off), true);
  assert.equal(run(1).firstFailure?.violation.kind ?? null, null);
});
