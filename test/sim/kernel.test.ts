import assert from "node:assert/strict";
import { test } from "node:test";
import { NSEC_PER_MSEC } from "../../src/sim/clock.ts";
import { Kernel, KernelGlobal } from "../../src/sim/kernel.ts";
import { FirstRunnable } from "../../src/sim/strategies/firstRunnable.ts";
import { ReplaySchedule } from "../../src/sim/strategies/replay.ts";
import { Mutex } from "../../src/sim/sync/mutex.ts";
import { KernelBug } from "../../src/sim/violation.ts";
import type { KGen, TaskGroup } from "../../src/sim/task.ts";

const proc: TaskGroup = { kind: "process", name: "p" };

/** Two tasks increment a shared counter with a read, a preemption point, a write. */
function lostUpdate(seed: number, locked: boolean): { counter: number; steps: number } {
  const k = new Kernel({ seed });
  const lock = new Mutex(k, "counter_lock");
  let counter = 0;
  for (let i = 0; i < 2; i++) {
    k.spawn(`inc${i}`, proc, function* (): KGen {
      if (locked) yield* lock.lock();
      const seen = counter;
      yield "read";
      counter = seen + 1;
      if (locked) lock.unlock();
    });
  }
  const result = k.run();
  assert.equal(result.status, "ok");
  return { counter, steps: result.steps };
}

test("a lost update without a lock is found under some seed of 0..63", () => {
  const lost = Array.from({ length: 64 }, (_, seed) => lostUpdate(seed, false)).filter(
    (r) => r.counter === 1,
  );
  assert.ok(lost.length > 0, "no seed interleaved the two read-modify-writes");
});

test("a lost update never happens with the mutex, over seeds 0..199", () => {
  for (let seed = 0; seed < 200; seed++) assert.equal(lostUpdate(seed, true).counter, 2);
});

test("spawned tasks know their parent; join waits for the child to end", () => {
  const k = new Kernel({ seed: 1 });
  const order: string[] = [];
  k.spawn("parent", proc, function* (self): KGen {
    const child = k.spawn("child", proc, function* (): KGen {
      yield;
      yield;
      order.push("child done");
    });
    assert.equal(child.parent, self);
    yield* k.join(child);
    order.push("parent joined");
  });
  assert.equal(k.run().status, "ok");
  assert.deepEqual(order, ["child done", "parent joined"]);
});

test("the step bound ends a runaway run with status step_bound", () => {
  const k = new Kernel({ maxSteps: 500 });
  k.spawn("spinner", proc, function* (): KGen {
    for (;;) yield "spin";
  });
  const result = k.run();
  assert.equal(result.status, "step_bound");
  assert.equal(result.steps, 500);
});

test("a deadlock names each blocked task, what it waits on and what it holds", () => {
  // ab takes A, ba takes B, then each asks for the other.
  const k = new Kernel({
    strategy: new ReplaySchedule([0, 0, 1, 1, 0, 0, 1, 1]),
    stopOnViolation: false,
  });
  const a = new Mutex(k, "A");
  const b = new Mutex(k, "B");
  const grab = (first: Mutex, second: Mutex) =>
    function* (): KGen {
      yield* first.lock();
      yield "between";
      yield* second.lock();
    };
  k.spawn("ab", proc, grab(a, b));
  k.spawn("ba", proc, grab(b, a));
  const result = k.run();
  assert.deepEqual(
    result.violations.map((v) => v.kind),
    ["lock_order_inversion", "deadlock"],
  );
  const deadlock = result.violations[1];
  assert.match(deadlock?.message ?? "", /ab#0 waits on mutex B \(owner ba#1\) holding \[A, B\]/);
  assert.match(deadlock?.message ?? "", /ba#1 waits on mutex A \(owner ab#0\) holding \[B, A\]/);
  assert.equal(deadlock?.task, null);
});

test("virtual time advances only when every runnable task waits on time", () => {
  const k = new Kernel({ seed: 3 });
  const seen: number[] = [];
  k.spawn("sleeper", proc, function* (): KGen {
    yield* k.sleep(5 * NSEC_PER_MSEC);
    seen.push(k.clock.now());
  });
  k.spawn("busy", proc, function* (): KGen {
    for (let i = 0; i < 10; i++) {
      seen.push(k.clock.now());
      yield;
    }
  });
  const result = k.run();
  assert.deepEqual(seen.slice(0, 10), new Array(10).fill(0));
  assert.equal(seen[10], 5 * NSEC_PER_MSEC);
  assert.equal(result.timeNs, 5 * NSEC_PER_MSEC);
});

test("an explicit cost advances the clock and makes due timers fire", () => {
  const k = new Kernel({ strategy: new FirstRunnable() });
  let wokeAt = -1;
  k.spawn("sleeper", proc, function* (): KGen {
    yield* k.sleep(1000);
    wokeAt = k.clock.now();
  });
  k.spawn("worker", proc, function* (): KGen {
    k.clock.advance(4000); // a 4 us UMR
    yield "umr";
  });
  k.run();
  assert.equal(wokeAt, 4000);
});

test("KernelBug becomes a violation; any other throw is an internal error", () => {
  const k = new Kernel();
  k.spawn("bug", proc, function* (): KGen {
    yield;
    throw new KernelBug("bug_on", "BUG_ON(!mr->live)", { mr: 3 });
  });
  const r = k.run();
  assert.equal(r.status, "violation");
  assert.equal(r.violations[0]?.task, "bug#0");
  assert.equal(r.violations[0].kind, "bug_on");
  assert.equal(r.internalError, null);

  const k2 = new Kernel();
  k2.spawn("oops", proc, function* (): KGen {
    yield;
    throw new TypeError("simulator bug");
  });
  const r2 = k2.run();
  assert.equal(r2.status, "internal_error");
  assert.equal(r2.violations.length, 0);
  assert.match(r2.internalError?.message ?? "", /simulator bug/);
});

test("kill ends a killable wait early and leaves an unkillable one alone", async () => {
  const { WaitQueueHead } = await import("../../src/sim/sync/waitQueue.ts");
  const k = new Kernel({ strategy: new FirstRunnable() });
  const wq = new WaitQueueHead(k, "never");
  const outcome: string[] = [];
  const victim = k.spawn("victim", proc, function* (): KGen {
    const ok = yield* wq.waitEventKillable(() => false);
    outcome.push(ok ? "woke" : "killed");
  });
  k.spawn("killer", proc, function* (): KGen {
    yield;
    k.kill(victim);
  });
  assert.equal(k.run().status, "ok");
  assert.deepEqual(outcome, ["killed"]);
});

test("run() may only be called once per kernel", () => {
  const k = new Kernel();
  k.run();
  assert.throws(() => k.run(), /once/);
});

test("a KernelGlobal is made once per kernel, on first use, and never shared between kernels", () => {
  let made = 0;
  const COUNTER = new KernelGlobal("test counter", () => {
    made++;
    return { n: 0 };
  });
  const a = new Kernel();
  const b = new Kernel();
  a.global(COUNTER).n++;
  a.global(COUNTER).n++;
  assert.equal(made, 1);
  assert.equal(b.global(COUNTER).n, 0);
  assert.equal(a.global(COUNTER).n, 2);
  assert.equal(made, 2);
});
