import assert from "node:assert/strict";
import { test } from "node:test";
import { Kernel } from "../../src/sim/kernel.ts";
import { FirstRunnable } from "../../src/sim/strategies/firstRunnable.ts";
import { Mutex } from "../../src/sim/sync/mutex.ts";
import { RwSemaphore } from "../../src/sim/sync/rwsem.ts";
import { Spinlock } from "../../src/sim/sync/spinlock.ts";
import { HARDIRQ_CLASS } from "../../src/sim/lockdep.ts";
import type { KGen } from "../../src/sim/task.ts";

const g = { kind: "process", name: "p" } as const;

test("lockdep: an inversion is reported from one run where the orders never overlap", () => {
  // "disassociate" takes mmap_lock then umap_lock and finishes; much later "close"
  // takes umap_lock then mmap_lock. No deadlock can happen in this run, but the
  // dependency graph has a cycle.
  const k = new Kernel({ strategy: new FirstRunnable() });
  const mmapLock = new RwSemaphore(k, "mmap_lock");
  const umapLock = new Mutex(k, "umap_lock");
  k.spawn("disassociate", g, function* (): KGen {
    yield* mmapLock.downWrite();
    yield* umapLock.lock();
    umapLock.unlock();
    mmapLock.upWrite();
  });
  k.spawn("close", g, function* (): KGen {
    yield* k.sleep(1000);
    yield* umapLock.lock();
    yield* mmapLock.downRead();
    mmapLock.upRead();
    umapLock.unlock();
  });
  const r = k.run();
  assert.equal(r.violations.length, 1);
  const v = r.violations[0];
  assert.equal(v?.kind, "lock_order_inversion");
  assert.equal(v.task, "close#1");
  assert.deepEqual(v.details.locks, ["umap_lock", "mmap_lock"]);
  assert.equal(v.details.newChain, "close#1 at step 5: umap_lock -> mmap_lock");
  assert.deepEqual(v.details.existingChain, ["disassociate#0 at step 1: mmap_lock -> umap_lock"]);
});

test("lockdep: a consistent order across many seeds is never reported", () => {
  for (let seed = 0; seed < 50; seed++) {
    const k = new Kernel({ seed });
    const a = new Mutex(k, "A");
    const b = new Mutex(k, "B");
    for (let i = 0; i < 3; i++) {
      k.spawn(`t${i}`, g, function* (): KGen {
        yield* a.lock();
        yield* b.lock();
        b.unlock();
        a.unlock();
      });
    }
    assert.equal(k.run().status, "ok", `seed ${seed}`);
  }
});

test("lockdep: a transitive cycle A->B, B->C, C->A is found with the whole path", () => {
  const k = new Kernel({ strategy: new FirstRunnable() });
  const [a, b, c] = ["A", "B", "C"].map((n) => new Mutex(k, n)) as [Mutex, Mutex, Mutex];
  const pair = (x: Mutex, y: Mutex) =>
    function* (): KGen {
      yield* x.lock();
      yield* y.lock();
      y.unlock();
      x.unlock();
    };
  k.spawn("ab", g, pair(a, b));
  k.spawn("bc", g, pair(b, c));
  k.spawn("ca", g, pair(c, a));
  const v = k.run().violations[0];
  assert.equal(v?.kind, "lock_order_inversion");
  assert.equal((v.details.existingChain as string[]).length, 2);
});

test("lockdep: a trylock adds no dependency, but locks taken under it do", () => {
  const k = new Kernel({ strategy: new FirstRunnable() });
  const a = new Mutex(k, "A");
  const b = new Mutex(k, "B");
  k.spawn("ab", g, function* (): KGen {
    yield* a.lock();
    yield* b.lock();
    b.unlock();
    a.unlock();
  });
  k.spawn("b then try a", g, function* (): KGen {
    yield* b.lock();
    if (a.trylock()) a.unlock();
    b.unlock();
  });
  assert.equal(k.run().status, "ok");
});

/** Two tasks, each nesting the two umem_mutexes of one class, in opposite orders. */
function nestBothWays(subclass: number) {
  const k = new Kernel({ strategy: new FirstRunnable() });
  const m1 = new Mutex(k, "umem_mutex#1", "umem_mutex");
  const m2 = new Mutex(k, "umem_mutex#2", "umem_mutex");
  const nest = (outer: Mutex, inner: Mutex) =>
    function* (): KGen {
      yield* outer.lock();
      yield* inner.lock(subclass);
      inner.unlock();
      outer.unlock();
    };
  k.spawn("t1", g, nest(m1, m2));
  k.spawn("t2", g, nest(m2, m1));
  return k.run();
}

test("lockdep: taking a second lock of a held class is possible recursive locking, once", () => {
  // The graph has one node for the class, so the opposite nesting in t2 (a real ABBA
  // between the instances) would close no cycle: the nesting itself is the report.
  const r = nestBothWays(0);
  assert.equal(r.violations.length, 1);
  const v = r.violations[0];
  assert.equal(v?.kind, "recursive_locking");
  assert.equal(v.task, "t1#0");
  assert.match(
    v.message,
    /possible recursive locking: .* acquires umem_mutex#2 holding umem_mutex#1 of the same class umem_mutex/,
  );
});

test("lockdep: a nesting annotated with a subclass is a class of its own", () => {
  // mutex_lock_nested(inner, 1): umem_mutex -> umem_mutex/1, trusted as lockdep trusts it.
  assert.equal(nestBothWays(1).status, "ok");
});

test("lockdep: a subclass still orders against other classes", () => {
  const k = new Kernel({ strategy: new FirstRunnable() });
  const parent = new Mutex(k, "umem_mutex#parent", "umem_mutex");
  const child = new Mutex(k, "umem_mutex#child", "umem_mutex");
  const other = new Mutex(k, "other");
  k.spawn("a", g, function* (): KGen {
    yield* parent.lock();
    yield* child.lock(1);
    yield* other.lock();
    other.unlock();
    child.unlock();
    parent.unlock();
  });
  k.spawn("b", g, function* (): KGen {
    yield* k.sleep(1000);
    yield* other.lock();
    yield* child.lock(1);
    child.unlock();
    other.unlock();
  });
  const v = k.run().violations[0];
  assert.equal(v?.kind, "lock_order_inversion");
  assert.match(v.message, /other -> umem_mutex\/1/);
});

test("lockdep: lockdep_assert_held fires only when the lock is not held", () => {
  const k = new Kernel({ stopOnViolation: false });
  const m = new Mutex(k, "umem_mutex");
  k.spawn("t", g, function* (): KGen {
    yield* m.lock();
    m.assertHeld();
    m.unlock();
    m.assertHeld();
  });
  const r = k.run();
  assert.deepEqual(
    r.violations.map((v) => v.kind),
    ["lock_not_held"],
  );
});

/** A task that runs its body as a hard IRQ handler (irq_enter .. irq_exit). */
function* inHardirq(k: Kernel, body: () => KGen): KGen {
  const t = k.currentTask();
  t.inHardirq = true;
  yield* body();
  t.inHardirq = false;
}

test("lockdep: a spinlock taken in hard IRQ context and elsewhere with IRQs on is an inconsistent lock state", () => {
  const k = new Kernel({ strategy: new FirstRunnable() });
  const table = new Spinlock(k, "qp_table.lock");
  k.spawn("worker", g, function* (): KGen {
    yield* table.lock();
    table.unlock();
  });
  k.spawn("irq", g, () =>
    inHardirq(k, function* (): KGen {
      yield* k.sleep(1000);
      yield* table.lock();
      table.unlock();
    }),
  );
  const r = k.run();
  assert.equal(r.violations.length, 1);
  const v = r.violations[0];
  assert.equal(v?.kind, "lock_order_inversion");
  assert.match(v.message, /inconsistent lock state: qp_table\.lock .*HARDIRQ-ON-W.*IN-HARDIRQ-W/);
  assert.deepEqual(v.details.locks, [HARDIRQ_CLASS, "qp_table.lock"]);
  assert.deepEqual(v.details.existingChain, ["worker#0 at step 0: qp_table.lock -> hardirq"]);
});

test("lockdep: the same lock taken with spin_lock_irqsave outside the IRQ handler is consistent", () => {
  const k = new Kernel({ strategy: new FirstRunnable() });
  const table = new Spinlock(k, "qp_table.lock");
  const inner = new Spinlock(k, "inner");
  k.spawn("worker", g, function* (): KGen {
    yield* table.lockIrqsave();
    // Nested under irqsave, the inner lock is held with IRQs off too.
    yield* inner.lock();
    inner.unlock();
    table.unlockIrqrestore();
    assert.equal(k.currentTask().hardirqsOff, 0);
  });
  k.spawn("irq", g, () =>
    inHardirq(k, function* (): KGen {
      yield* table.lock();
      table.unlock();
    }),
  );
  assert.deepEqual(k.run().violations, []);
});
