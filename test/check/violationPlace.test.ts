/**
 * A violation's place (src/check/violationPlace.ts): its kind and site, so that shrinking
 * and the fuzz's keys tell one bug from another of the same kind. A deadlock, found
 * between steps, is placed by what its tasks wait on, instances left out, the program's
 * own waits only when nothing else is waited on.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { violationPlace } from "../../src/check/violationPlace.ts";
import type { Violation } from "../../src/sim/violation.ts";

function violation(kind: string, task: string | null, details: Record<string, unknown>): Violation {
  return { kind, message: kind, step: 1, timeNs: 0, task, details };
}

const deadlock = (...waits: string[]) =>
  violation("deadlock", null, {
    blocked: waits.map((w, i) => ({ task: `t${i}#${i}`, waitsOn: w, holds: [] })),
  });

test("a violation in a task is placed by the task's name without its id, or by its site", () => {
  assert.equal(violationPlace(violation("use_after_free", "nic#3", {})), "use_after_free at nic");
  assert.equal(
    violationPlace(violation("qp_error", "nic#3", { site: "app/nic op 2" })),
    "qp_error at app/nic op 2",
  );
});

test("a deadlock is placed by the lock or queue its tasks wait on, without instances", () => {
  assert.equal(
    violationPlace(
      deadlock("rwsem umem_rwsem(ib_ucontext_per_mm#10) (writer none, readers [oom_reaper p0#4])"),
    ),
    "deadlock at the scheduler, waiting on rwsem umem_rwsem",
  );
  assert.equal(
    violationPlace(deadlock("wait queue notifier_subscriptions(pid100).wq")),
    violationPlace(deadlock("wait queue notifier_subscriptions(pid101).wq")),
  );
  assert.notEqual(
    violationPlace(deadlock("rwsem umem_rwsem(ib_ucontext_per_mm#10)")),
    violationPlace(deadlock("wait queue notifier_subscriptions(pid100).wq")),
  );
});

test("the program's own waits place a deadlock only when nothing else is waited on", () => {
  assert.equal(
    violationPlace(
      deadlock("completion event e0", "join of t1#3", "wait queue notifier_subscriptions(pid1).wq"),
    ),
    "deadlock at the scheduler, waiting on wait queue notifier_subscriptions.wq",
  );
  assert.equal(
    violationPlace(deadlock("completion event e1", "completion event e0")),
    "deadlock at the scheduler, waiting on completion event e0, completion event e1",
  );
});
