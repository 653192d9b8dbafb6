import assert from "node:assert/strict";
import { test } from "node:test";
import { NSEC_PER_MSEC } from "../../../src/sim/clock.ts";
import { Kernel } from "../../../src/sim/kernel.ts";
import { Completion } from "../../../src/sim/sync/completion.ts";
import { WaitQueueHead } from "../../../src/sim/sync/waitQueue.ts";
import type { KGen } from "../../../src/sim/task.ts";

const g = { kind: "host", name: "h" } as const;

test("completion: a wait times out on the virtual clock and returns 0", () => {
  const k = new Kernel();
  const done = new Completion(k, "notifier_completion");
  let left = -1;
  let at = -1;
  k.spawn("waiter", g, function* (): KGen {
    left = yield* done.waitTimeout(1000 * NSEC_PER_MSEC);
    at = k.clock.now();
  });
  const r = k.run();
  assert.equal(r.status, "ok");
  assert.equal(left, 0);
  assert.equal(at, 1000 * NSEC_PER_MSEC);
});

test("completion: complete() before the timeout returns the time left", () => {
  const k = new Kernel();
  const done = new Completion(k, "c");
  let left = -1;
  k.spawn("waiter", g, function* (): KGen {
    left = yield* done.waitTimeout(1000);
  });
  k.spawn("completer", g, function* (): KGen {
    yield* k.sleep(300);
    done.complete();
  });
  k.run();
  assert.equal(left, 700);
});

test("completion: complete() lets one waiter through, complete_all() every one", () => {
  for (const all of [false, true]) {
    const k = new Kernel({ seed: 4 });
    const done = new Completion(k, "c");
    let passed = 0;
    for (let i = 0; i < 3; i++) {
      k.spawn(`w${i}`, g, function* (): KGen {
        yield* done.wait();
        passed++;
      });
    }
    k.spawn("c", g, function* (): KGen {
      yield* k.sleep(10);
      if (all) done.completeAll();
      else done.complete();
    });
    const r = k.run();
    assert.equal(passed, all ? 3 : 1);
    // With complete(), two waiters remain blocked for ever: a deadlock report.
    assert.equal(r.violations[0]?.kind, all ? undefined : "deadlock");
  }
});

test("completion: complete() banks a wake-up; reinit() forgets it", () => {
  const k = new Kernel();
  const c = new Completion(k, "c");
  const seen: boolean[] = [];
  k.spawn("t", g, function* (): KGen {
    c.complete();
    seen.push(c.completionDone(), c.tryWait(), c.tryWait());
    c.completeAll();
    c.reinit();
    seen.push(c.completionDone());
    yield;
  });
  k.run();
  assert.deepEqual(seen, [true, true, false, false]);
});

test("wait queue: wait_event sleeps until the condition holds after a wake_up", () => {
  const k = new Kernel({ seed: 9 });
  const wq = new WaitQueueHead(k, "wq");
  let flag = 0;
  let sawFlag = -1;
  k.spawn("waiter", g, function* (): KGen {
    yield* wq.waitEvent(() => flag === 2);
    sawFlag = flag;
  });
  k.spawn("setter", g, function* (): KGen {
    flag = 1;
    wq.wakeUp(); // spurious for the waiter: it must sleep again
    yield;
    flag = 2;
    wq.wakeUp();
  });
  assert.equal(k.run().status, "ok");
  assert.equal(sawFlag, 2);
});

test("wait queue: wait_event_timeout returns 0 when the condition never holds", () => {
  const k = new Kernel();
  const wq = new WaitQueueHead(k, "wq");
  let left = -1;
  k.spawn("waiter", g, function* (): KGen {
    left = yield* wq.waitEventTimeout(() => false, 50);
  });
  k.run();
  assert.equal(left, 0);
});
