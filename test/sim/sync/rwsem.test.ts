import assert from "node:assert/strict";
import { test } from "node:test";
import { Kernel } from "../../../src/sim/kernel.ts";
import { ReplaySchedule } from "../../../src/sim/strategies/replay.ts";
import { RwSemaphore } from "../../../src/sim/sync/rwsem.ts";
import type { KGen } from "../../../src/sim/task.ts";

const g = { kind: "process", name: "p" } as const;

test("rwsem: readers share, a writer excludes everyone (seeds 0..99)", () => {
  for (let seed = 0; seed < 100; seed++) {
    const k = new Kernel({ seed });
    const sem = new RwSemaphore(k, "mmap_lock");
    let readers = 0;
    let writers = 0;
    let maxReaders = 0;
    let bad = false;
    for (let i = 0; i < 3; i++) {
      k.spawn(`r${i}`, g, function* (): KGen {
        yield* sem.downRead();
        readers++;
        maxReaders = Math.max(maxReaders, readers);
        if (writers > 0) bad = true;
        yield "reading";
        readers--;
        sem.upRead();
      });
    }
    k.spawn("w", g, function* (): KGen {
      yield* sem.downWrite();
      writers++;
      if (readers > 0 || writers > 1) bad = true;
      yield "writing";
      writers--;
      sem.upWrite();
    });
    assert.equal(k.run().status, "ok");
    assert.equal(bad, false, `seed ${seed}`);
  }
});

test("rwsem: readers share the lock at the same time under some seed", () => {
  const bothInside = (seed: number): boolean => {
    const k = new Kernel({ seed });
    const sem = new RwSemaphore(k, "s");
    let readers = 0;
    let shared = false;
    for (let i = 0; i < 2; i++) {
      k.spawn(`r${i}`, g, function* (): KGen {
        yield* sem.downRead();
        readers++;
        shared ||= readers === 2;
        yield;
        readers--;
        sem.upRead();
      });
    }
    k.run();
    return shared;
  };
  assert.ok(Array.from({ length: 50 }, (_, seed) => seed).some(bothInside));
});

test("rwsem: a reader does not overtake a queued writer, so a recursive read deadlocks", () => {
  // r takes it for read; w queues for write; r asks for read again: the kernel's
  // classic recursive-read deadlock.
  const k = new Kernel({ strategy: new ReplaySchedule([0, 0, 1, 1, 0, 0]) });
  const sem = new RwSemaphore(k, "s");
  k.spawn("r", g, function* (): KGen {
    yield* sem.downRead();
    yield "holding";
    yield* sem.downRead();
  });
  k.spawn("w", g, function* (): KGen {
    yield* sem.downWrite();
  });
  const r = k.run();
  // Lockdep sees the self-recursion first (it stops the run).
  assert.equal(r.violations[0]?.kind, "recursive_locking");
});

test("rwsem: trylocks fail instead of waiting", () => {
  const k = new Kernel({ strategy: new ReplaySchedule([0, 0, 1]) });
  const sem = new RwSemaphore(k, "s");
  const results: boolean[] = [];
  k.spawn("w", g, function* (): KGen {
    yield* sem.downWrite();
    yield "held";
    yield "held";
    sem.upWrite();
  });
  k.spawn("t", g, function* (): KGen {
    results.push(sem.downReadTrylock(), sem.downWriteTrylock());
    yield;
  });
  assert.equal(k.run().status, "ok");
  assert.deepEqual(results, [false, false]);
});

test("rwsem: down_read_trylock succeeds beside another reader", () => {
  const k = new Kernel({ strategy: new ReplaySchedule([0, 0, 1]) });
  const sem = new RwSemaphore(k, "s");
  let got = false;
  k.spawn("r", g, function* (): KGen {
    yield* sem.downRead();
    yield "held";
    sem.upRead();
  });
  k.spawn("t", g, function* (): KGen {
    got = sem.downReadTrylock();
    if (got) sem.upRead();
    yield;
  });
  assert.equal(k.run().status, "ok");
  assert.equal(got, true);
});

test("rwsem: up_write by a reader, or assertHeldWrite without it, is a violation", () => {
  const k = new Kernel({ stopOnViolation: false });
  const sem = new RwSemaphore(k, "s");
  k.spawn("t", g, function* (): KGen {
    yield* sem.downRead();
    sem.assertHeld();
    sem.assertHeldWrite();
    sem.upWrite();
    sem.upRead();
  });
  const kinds = k.run().violations.map((v) => v.kind);
  assert.deepEqual(kinds, ["lock_not_held", "unlock_not_owner"]);
});

test("rwsem: a read trylock may nest in a read hold; each hold needs its own up_read", () => {
  const k = new Kernel({ strategy: new ReplaySchedule([0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1]) });
  const sem = new RwSemaphore(k, "umem_rwsem");
  const log: string[] = [];
  k.spawn("reader", g, function* (): KGen {
    yield* sem.downRead();
    log.push(`nested trylock ${sem.downReadTrylock()}`);
    yield "holding twice";
    sem.upRead();
    log.push(`after one up_read locked=${sem.isLocked()}`);
    yield "holding once";
    sem.upRead();
  });
  k.spawn("writer", g, function* (): KGen {
    yield* sem.downWrite();
    log.push("writer in");
    sem.upWrite();
  });
  const r = k.run();
  assert.deepEqual(r.violations, []);
  assert.deepEqual(log, ["nested trylock true", "after one up_read locked=true", "writer in"]);
});
