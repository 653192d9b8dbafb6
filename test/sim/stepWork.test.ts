/**
 * The per-step work budget (Kernel.stepWork): a model loop that never yields ends the run
 * as an internal error at a fixed step, deterministically, instead of hanging where the
 * step bound (counted at yields) cannot stop it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Kernel } from "../../src/sim/kernel.ts";
import { FirstRunnable } from "../../src/sim/strategies/firstRunnable.ts";
import { PhysMem } from "../../src/mm/physMem.ts";
import { Process } from "../../src/mm/process.ts";
import {
  MmuNotifier,
  mmuNotifierRegister,
  mmuNotifierUnregister,
} from "../../src/mm/notifier/mmuNotifier.ts";
import { verdictOf } from "../../src/check/verdict.ts";
import type { KGen } from "../../src/sim/task.ts";

test("a step past its work budget is an internal error naming the loop, never clean", () => {
  const k = new Kernel({ strategy: new FirstRunnable(), maxStepWork: 1000 });
  k.spawn("spinner", { kind: "host", name: "test" }, function* () {
    yield "before";
    for (;;) k.stepWork("a loop that never yields");
  });
  const r = k.run();
  assert.equal(r.status, "internal_error");
  assert.ok(r.internalError !== null);
  assert.equal(r.internalError.step, 1);
  assert.match(r.internalError.message, /more than 1000 units of work .* a loop that never yields/);
  const seen = { internalError: true, violation: false, inconclusive: false };
  assert.equal(verdictOf(seen), "internal_error");
});

test("work is counted per step: many short steps stay within the budget", () => {
  const k = new Kernel({ strategy: new FirstRunnable(), maxStepWork: 10 });
  k.spawn("worker", { kind: "host", name: "test" }, function* () {
    for (let step = 0; step < 100; step++) {
      for (let i = 0; i < 10; i++) k.stepWork("ten units a step");
      yield "next";
    }
  });
  assert.equal(k.run().status, "ok");
});

/**
 * A deliberately broken driver: it corrupts the notifier list the way a second
 * registration of a registered notifier once did (its node linked to itself), then
 * unregisters another notifier, whose unlink walks the list without yielding.
 */
function* brokenDriver(k: Kernel, proc: Process): KGen {
  const mm = proc.mm;
  assert.ok(mm !== null);
  const a = new MmuNotifier({ name: "broken_a" });
  const b = new MmuNotifier({ name: "broken_b" });
  assert.equal(yield* mmuNotifierRegister(b, mm), 0);
  assert.equal(yield* mmuNotifierRegister(a, mm), 0);
  a.hlistNext = a; // the corruption: the list now cycles at its head, never reaching b
  yield* mmuNotifierUnregister(b, mm);
  k.event("not reached");
}

test("a broken driver that cycles the notifier list ends as an internal error, the same on every run", () => {
  const runOnce = () => {
    const k = new Kernel({ strategy: new FirstRunnable() });
    const proc = new Process(k, new PhysMem(k, { frames: 16 }));
    proc.spawnThread("driver", () => brokenDriver(k, proc));
    return k.run();
  };
  const first = runOnce();
  assert.equal(first.status, "internal_error");
  assert.match(first.internalError?.message ?? "", /without yielding, in hlist_del_init_rcu/);
  assert.deepEqual(runOnce().internalError, first.internalError);
});
