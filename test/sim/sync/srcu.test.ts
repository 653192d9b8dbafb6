import assert from "node:assert/strict";
import { test } from "node:test";
import { Kernel } from "../../../src/sim/kernel.ts";
import { ReplaySchedule } from "../../../src/sim/strategies/replay.ts";
import { SrcuStruct } from "../../../src/sim/sync/srcu.ts";
import type { KGen } from "../../../src/sim/task.ts";

const g = { kind: "host", name: "h" } as const;

test("srcu: synchronize waits for a reader that began before it", () => {
  const k = new Kernel({ seed: 1 });
  const srcu = new SrcuStruct(k, "mr_srcu");
  const log: string[] = [];
  k.spawn("reader", g, function* (): KGen {
    const idx = srcu.readLock();
    yield* k.sleep(100);
    log.push("reader leaves");
    srcu.readUnlock(idx);
  });
  k.spawn("sync", g, function* (): KGen {
    yield* k.sleep(10); // the reader is inside by now
    yield* srcu.synchronize();
    log.push("grace period over");
  });
  assert.equal(k.run().status, "ok");
  assert.deepEqual(log, ["reader leaves", "grace period over"]);
});

test("srcu: synchronize does not wait for readers that began after it", () => {
  // sync starts first (step 0 flips the epoch and yields); then a reader enters and
  // sleeps a long time; synchronize must return without waiting for it.
  const k = new Kernel({ strategy: new ReplaySchedule([0, 1, 0]) });
  const srcu = new SrcuStruct(k, "s");
  let syncDoneAt = -1;
  let readerLeftAt = -1;
  k.spawn("sync", g, function* (): KGen {
    yield* srcu.synchronize();
    syncDoneAt = k.clock.now();
  });
  k.spawn("late reader", g, function* (): KGen {
    const idx = srcu.readLock();
    yield* k.sleep(1_000_000);
    readerLeftAt = k.clock.now();
    srcu.readUnlock(idx);
  });
  assert.equal(k.run().status, "ok");
  assert.equal(syncDoneAt, 0);
  assert.equal(readerLeftAt, 1_000_000);
});

test("srcu: call_srcu runs its callback after the grace period, in its own task", () => {
  const k = new Kernel({ seed: 2 });
  const srcu = new SrcuStruct(k, "s");
  const log: string[] = [];
  k.spawn("reader", g, function* (): KGen {
    const idx = srcu.readLock();
    yield* k.sleep(50);
    log.push("reader out");
    srcu.readUnlock(idx);
  });
  k.spawn("freer", g, function* (): KGen {
    yield* k.sleep(1);
    srcu.callSrcu(() => {
      log.push(`callback in ${k.currentTask().name}`);
      return undefined;
    });
  });
  assert.equal(k.run().status, "ok");
  assert.deepEqual(log, ["reader out", "callback in srcu_cb:s:1"]);
});

test("srcu: an unlock with an index no reader holds is a violation", () => {
  const k = new Kernel();
  const srcu = new SrcuStruct(k, "s");
  k.spawn("t", g, function* (): KGen {
    const idx = srcu.readLock();
    srcu.readUnlock(idx);
    srcu.readUnlock(idx);
    yield;
  });
  assert.equal(k.run().violations[0]?.kind, "srcu_unbalanced");
});

test("srcu: synchronize inside a read section of the same srcu deadlocks", () => {
  const k = new Kernel();
  const srcu = new SrcuStruct(k, "s");
  k.spawn("t", g, function* (): KGen {
    srcu.readLock();
    yield* srcu.synchronize();
  });
  const v = k.run().violations[0];
  assert.equal(v?.kind, "deadlock");
  assert.match(v.message, /SRCU grace period of s/);
});
