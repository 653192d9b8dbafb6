import assert from "node:assert/strict";
import { test } from "node:test";
import { Kernel } from "../../../src/sim/kernel.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import { ReplaySchedule } from "../../../src/sim/strategies/replay.ts";
import { Mutex } from "../../../src/sim/sync/mutex.ts";
import { Spinlock } from "../../../src/sim/sync/spinlock.ts";
import type { KGen } from "../../../src/sim/task.ts";

const g = { kind: "process", name: "p" } as const;

test("mutex: mutual exclusion holds under every seed of 0..99", () => {
  for (let seed = 0; seed < 100; seed++) {
    const k = new Kernel({ seed });
    const m = new Mutex(k, "m");
    let inside = 0;
    let maxInside = 0;
    for (let i = 0; i < 3; i++) {
      k.spawn(`t${i}`, g, function* (): KGen {
        for (let round = 0; round < 3; round++) {
          yield* m.lock();
          inside++;
          maxInside = Math.max(maxInside, inside);
          yield "critical";
          inside--;
          m.unlock();
          yield;
        }
      });
    }
    assert.equal(k.run().status, "ok");
    assert.equal(maxInside, 1, `seed ${seed}`);
  }
});

test("mutex: trylock fails while held, succeeds once released, never sleeps", () => {
  // holder: lock (2 steps) then holds across one yield; trier tries in between, and
  // again after the unlock.
  const k = new Kernel({ strategy: new ReplaySchedule([0, 0, 1, 0, 1]) });
  const m = new Mutex(k, "m");
  const got: boolean[] = [];
  k.spawn("holder", g, function* (): KGen {
    yield* m.lock();
    yield "holding";
    m.unlock();
  });
  k.spawn("trier", g, function* (): KGen {
    got.push(m.trylock());
    yield;
    got.push(m.trylock());
    if (got[1] === true) m.unlock();
  });
  assert.equal(k.run().status, "ok");
  assert.deepEqual(got, [false, true]);
});

test("mutex: unlock by a non-owner is a violation", () => {
  const k = new Kernel({ strategy: new FirstRunnable() });
  const m = new Mutex(k, "m");
  k.spawn("owner", g, function* (): KGen {
    yield* m.lock();
  });
  k.spawn("thief", g, function* (): KGen {
    m.unlock();
    yield;
  });
  const r = k.run();
  assert.equal(r.violations[0]?.kind, "unlock_not_owner");
  assert.equal(r.violations[0].task, "thief#1");
});

test("mutex: taking it twice in one task is reported as recursive locking", () => {
  const k = new Kernel({ stopOnViolation: true });
  const m = new Mutex(k, "m");
  k.spawn("t", g, function* (): KGen {
    yield* m.lock();
    yield* m.lock();
  });
  const r = k.run();
  assert.equal(r.violations[0]?.kind, "recursive_locking");
});

test("mutex_lock under a spinlock is sleeping in atomic context, even uncontended", () => {
  const k = new Kernel();
  const s = new Spinlock(k, "s");
  const m = new Mutex(k, "m");
  k.spawn("t", g, function* (): KGen {
    yield* s.lock();
    yield* m.lock();
    m.unlock();
    s.unlock();
  });
  const r = k.run();
  assert.equal(r.violations[0]?.kind, "sleep_in_atomic");
  assert.match(r.violations[0].message, /mutex_lock\(m\)/);
});

test("spinlock: spinning on a second spinlock in atomic context is legal", () => {
  for (let seed = 0; seed < 50; seed++) {
    const k = new Kernel({ seed });
    const outer = new Spinlock(k, "outer");
    const inner = new Spinlock(k, "inner");
    let total = 0;
    for (let i = 0; i < 2; i++) {
      k.spawn(`t${i}`, g, function* (): KGen {
        if (i === 0) yield* outer.lock();
        yield* inner.lock();
        const v = total;
        yield;
        total = v + 1;
        inner.unlock();
        if (i === 0) outer.unlock();
      });
    }
    const r = k.run();
    assert.equal(r.status, "ok", `seed ${seed}: ${JSON.stringify(r.violations)}`);
    assert.equal(total, 2);
  }
});

test("spinlock: a sleep while holding one is a violation", () => {
  const k = new Kernel();
  const s = new Spinlock(k, "s");
  k.spawn("t", g, function* (): KGen {
    yield* s.lock();
    yield* k.sleep(10);
    s.unlock();
  });
  assert.equal(k.run().violations[0]?.kind, "sleep_in_atomic");
});
