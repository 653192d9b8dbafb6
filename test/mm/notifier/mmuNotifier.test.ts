import assert from "node:assert/strict";
import { test } from "node:test";
import { mmput } from "../../../src/mm/mmStruct.ts";
import {
  MmuNotifier,
  mmuNotifierGet,
  mmuNotifierPut,
  mmuNotifierRegister,
  mmuNotifierUnregister,
  mmuNotifierUnregisterNoRelease,
  type MmuNotifierOps,
} from "../../../src/mm/notifier/mmuNotifier.ts";
import {
  MmuNotifierSubscriptionsState,
  mmuNotifierSubscriptionsOf,
} from "../../../src/mm/notifier/mmuNotifierSubscriptions.ts";
import { EAGAIN } from "../../../src/sim/errno.ts";
import { KObject } from "../../../src/sim/kasan.ts";
import { Mutex } from "../../../src/sim/sync/mutex.ts";
import type { KGen } from "../../../src/sim/task.ts";
import { g, invalidate, setup } from "./fixture.ts";

/** Ops that log every callback as `name:what`. */
function loggingOps(
  name: string,
  log: string[],
  extra: Partial<MmuNotifierOps> = {},
): MmuNotifierOps {
  return {
    name,
    *release() {
      log.push(`${name}:release`);
    },
    *invalidateRangeStart(_sub, range) {
      log.push(`${name}:start ${range.start}-${range.end}`);
      return 0;
    },
    *invalidateRangeEnd(_sub, range) {
      log.push(`${name}:end ${range.start}-${range.end}`);
    },
    ...extra,
  };
}

test("mmu_notifier_register attaches subscriptions; starts and ends reach every notifier, newest first", () => {
  const { k, mm } = setup({ seed: 1 });
  const log: string[] = [];
  const a = new MmuNotifier(loggingOps("A", log));
  const b = new MmuNotifier(loggingOps("B", log));
  k.spawn("t", g, function* (): KGen {
    assert.equal(mmuNotifierSubscriptionsOf(mm), null);
    assert.equal(yield* mmuNotifierRegister(a, mm), 0);
    assert.ok(mmuNotifierSubscriptionsOf(mm) instanceof MmuNotifierSubscriptionsState);
    assert.equal(yield* mmuNotifierRegister(b, mm), 0);
    assert.equal(a.mm, mm);
    assert.equal(yield* invalidate(mm, 0x1000, 0x3000), 0);
  });
  assert.equal(k.run().status, "ok");
  assert.deepEqual(log, [
    "B:start 4096-12288",
    "A:start 4096-12288",
    "B:end 4096-12288",
    "A:end 4096-12288",
  ]);
  assert.equal(mm.mmCount.read(), 3); // one for the users, one per registration
});

test("mmu_notifier_unregister calls ->release while the mm is live, and drops its mm_count", () => {
  const { k, mm } = setup({ seed: 2 });
  const log: string[] = [];
  const a = new MmuNotifier(loggingOps("A", log));
  k.spawn("t", g, function* (): KGen {
    yield* mmuNotifierRegister(a, mm);
    yield* mmuNotifierUnregister(a, mm);
    assert.equal(a.hashed, false);
    yield* invalidate(mm, 0, 0x1000); // no longer reaches A
  });
  assert.equal(k.run().status, "ok");
  assert.deepEqual(log, ["A:release"]);
  assert.equal(mm.mmCount.read(), 1);
});

test("exit_mmap releases every notifier once; a later unregister does not release again", () => {
  const { k, mm } = setup({ seed: 3 });
  const log: string[] = [];
  const a = new MmuNotifier(loggingOps("A", log));
  const b = new MmuNotifier(loggingOps("B", log));
  k.spawn("t", g, function* (): KGen {
    yield* mmuNotifierRegister(a, mm);
    yield* mmuNotifierRegister(b, mm);
    yield* mmput(mm); // last user: exit_mmap
    assert.equal(mm.exited, true);
    assert.equal(mmuNotifierSubscriptionsOf(mm)?.first, null);
    yield* mmuNotifierUnregister(a, mm);
    yield* mmuNotifierUnregister(b, mm);
  });
  assert.equal(k.run().status, "ok");
  assert.deepEqual(log, ["B:release", "A:release"]);
  assert.equal(mm.freed, true); // the registrations' mm_counts were the last
});

/** A driver object with an embedded notifier whose start sleeps in the callback. */
class Driver extends KObject {
  readonly mn: MmuNotifier;
  constructor(k: ReturnType<typeof setup>["k"], ops: MmuNotifierOps) {
    super(k.kasan, "driver");
    this.mn = new MmuNotifier(ops, this);
  }
}

function slowStartOps(k: ReturnType<typeof setup>["k"], log: string[]): MmuNotifierOps {
  return {
    name: "slow",
    *invalidateRangeStart() {
      log.push("callback begins");
      yield* k.sleep(1000);
      log.push("callback ends");
      return 0;
    },
  };
}

test("mmu_notifier_unregister returns only after a callback in flight has finished (SRCU)", () => {
  const { k, mm } = setup({ seed: 4 });
  const log: string[] = [];
  const drv = new Driver(k, slowStartOps(k, log));
  k.spawn("driver", g, function* (): KGen {
    yield* mmuNotifierRegister(drv.mn, mm);
    yield* k.sleep(100); // the invalidation is inside the callback now
    yield* mmuNotifierUnregister(drv.mn, mm);
    log.push("unregistered");
    k.kasan.free(drv);
  });
  k.spawn("munmap", g, function* (): KGen {
    yield* k.sleep(50);
    yield* invalidate(mm, 0, 0x1000);
  });
  const r = k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations));
  assert.deepEqual(log, ["callback begins", "callback ends", "unregistered"]);
});

test("unregister_no_release then an immediate free is a use-after-free for the callback in flight", () => {
  const { k, mm } = setup({ seed: 5 });
  const log: string[] = [];
  const drv = new Driver(k, {
    name: "no-fence",
    *invalidateRangeStart() {
      yield* k.sleep(1000);
      return 0;
    },
    *invalidateRangeEnd() {
      log.push("end");
    },
  });
  k.spawn("driver", g, function* (): KGen {
    yield* mmuNotifierRegister(drv.mn, mm);
    yield* k.sleep(100);
    yield* mmuNotifierUnregisterNoRelease(drv.mn, mm); // no grace period: no fence
    k.kasan.free(drv);
  });
  k.spawn("munmap", g, function* (): KGen {
    yield* k.sleep(50);
    yield* invalidate(mm, 0, 0x1000);
  });
  const r = k.run();
  assert.equal(r.status, "violation");
  assert.equal(r.violations[0]?.kind, "use_after_free");
});

test("mmu_notifier_put frees through free_notifier only after the running callback (call_srcu)", () => {
  const { k, mm } = setup({ seed: 6 });
  const log: string[] = [];
  const ops: MmuNotifierOps = {
    ...slowStartOps(k, log),
    allocNotifier: () => new MmuNotifier(ops),
    freeNotifier: () => log.push("free_notifier"),
  };
  k.spawn("driver", g, function* (): KGen {
    const a = yield* mmuNotifierGet(ops, mm);
    const b = yield* mmuNotifierGet(ops, mm);
    assert.ok(a instanceof MmuNotifier);
    assert.equal(a, b); // shared, counted
    assert.equal(a.users, 2);
    yield* k.sleep(100);
    yield* mmuNotifierPut(a);
    log.push("first put");
    yield* mmuNotifierPut(a);
    log.push("last put returned");
  });
  k.spawn("munmap", g, function* (): KGen {
    yield* k.sleep(50);
    yield* invalidate(mm, 0, 0x1000);
  });
  const r = k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations));
  assert.deepEqual(log, [
    "callback begins",
    "first put",
    "last put returned",
    "callback ends",
    "free_notifier",
  ]);
  assert.equal(mm.mmCount.read(), 1);
});

test("a later notifier's non-blockable -EAGAIN ends the notifiers that started (range_end paired)", () => {
  const { k, mm } = setup({ seed: 7 });
  const log: string[] = [];
  const lock = new Mutex(k, "driver_lock");
  const refusing: MmuNotifierOps = {
    name: "B",
    // A start that may fail has no end (the kernel's rule for paired ends).
    *invalidateRangeStart(_sub, range) {
      if (!range.blockable && !lock.trylock()) return EAGAIN;
      log.push("B:start");
      lock.unlock();
      return 0;
    },
  };
  const a = new MmuNotifier(loggingOps("A", log, { release: undefined }));
  const b = new MmuNotifier(refusing);
  k.spawn("t", g, function* (): KGen {
    yield* mmuNotifierRegister(b, mm);
    yield* mmuNotifierRegister(a, mm); // A is first on the list, B after it
    yield* lock.lock();
    const ret = yield* invalidate(mm, 0, 0x2000, { blockable: false });
    lock.unlock();
    assert.equal(ret, EAGAIN);
    assert.equal(yield* invalidate(mm, 0, 0x1000, { blockable: false }), 0);
  });
  const r = k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations));
  assert.deepEqual(log, [
    "A:start 0-8192",
    "A:end 0-8192",
    "A:start 0-4096",
    "B:start",
    "A:end 0-4096",
  ]);
});

test("a non-blockable start that sleeps is reported (non_block_start)", () => {
  const { k, mm } = setup({ seed: 8 });
  const sleeper = new MmuNotifier({
    name: "sleeper",
    *invalidateRangeStart() {
      yield* k.sleep(10);
      return 0;
    },
  });
  k.spawn("oom_reaper", g, function* (): KGen {
    yield* mmuNotifierRegister(sleeper, mm);
    yield* invalidate(mm, 0, 0x1000, { blockable: false });
  });
  const r = k.run();
  assert.equal(r.status, "violation");
  assert.equal(r.violations[0]?.kind, "sleep_in_atomic");
});

test("a blockable start that fails is a WARN", () => {
  const { k, mm } = setup({ seed: 9 });
  const bad = new MmuNotifier({
    name: "bad",
    *invalidateRangeStart() {
      return EAGAIN;
    },
  });
  k.spawn("t", g, function* (): KGen {
    yield* mmuNotifierRegister(bad, mm);
    yield* invalidate(mm, 0, 0x1000);
  });
  const r = k.run();
  assert.equal(r.violations[0]?.kind, "warn_on");
});
