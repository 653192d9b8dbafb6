import assert from "node:assert/strict";
import { test } from "node:test";
import { Kernel } from "../../../src/sim/kernel.ts";
import { WorkStruct, Workqueue } from "../../../src/sim/sync/workqueue.ts";
import type { KGen } from "../../../src/sim/task.ts";

const g = { kind: "host", name: "h" } as const;

test("workqueue: queued work runs on a kworker; the run ends cleanly with idle kworkers", () => {
  const k = new Kernel({ seed: 5 });
  const wq = new Workqueue(k, "odp", { workers: 2 });
  const ranOn: string[] = [];
  const work = new WorkStruct("prefetch", function* (): KGen {
    ranOn.push(k.currentTask().name);
    yield;
  });
  k.spawn("user", g, function* (): KGen {
    assert.equal(wq.queueWork(work), true);
    assert.equal(wq.queueWork(work), false, "already pending");
    yield;
  });
  const r = k.run();
  assert.equal(r.status, "ok");
  assert.equal(ranOn.length, 1);
  assert.match(ranOn[0] ?? "", /^kworker\/odp:/);
});

test("workqueue: flush_work waits for the queued instance to finish", () => {
  for (let seed = 0; seed < 30; seed++) {
    const k = new Kernel({ seed });
    const wq = new Workqueue(k, "wq");
    let finished = false;
    let sawFinished = false;
    const work = new WorkStruct("w", function* (): KGen {
      yield* k.sleep(100);
      finished = true;
    });
    k.spawn("user", g, function* (): KGen {
      wq.queueWork(work);
      yield;
      assert.equal(yield* wq.flushWork(work), true);
      sawFinished = finished;
    });
    assert.equal(k.run().status, "ok");
    assert.equal(sawFinished, true, `seed ${seed}`);
  }
});

test("workqueue: a work item never runs concurrently with itself", () => {
  for (let seed = 0; seed < 30; seed++) {
    const k = new Kernel({ seed });
    const wq = new Workqueue(k, "wq", { workers: 3 });
    let running = 0;
    let overlap = false;
    let runs = 0;
    const work = new WorkStruct("w", function* (): KGen {
      running++;
      if (running > 1) overlap = true;
      yield;
      yield;
      running--;
      runs++;
    });
    k.spawn("user", g, function* (): KGen {
      for (let i = 0; i < 4; i++) {
        wq.queueWork(work);
        yield;
      }
    });
    assert.equal(k.run().status, "ok");
    assert.equal(overlap, false, `seed ${seed}`);
    assert.ok(runs >= 1);
  }
});

test("workqueue: cancel_work_sync removes pending work and waits for running work", () => {
  const k = new Kernel({ seed: 1 });
  const wq = new Workqueue(k, "wq");
  let ran = 0;
  const work = new WorkStruct("w", function* (): KGen {
    ran++;
    yield* k.sleep(10);
  });
  k.spawn("user", g, function* (): KGen {
    wq.queueWork(work);
    assert.equal(yield* wq.cancelWorkSync(work), true);
    assert.equal(work.pending, false);
    wq.queueWork(work);
    yield* k.sleep(5); // now it is running
    assert.equal(yield* wq.cancelWorkSync(work), true);
    assert.equal(work.running, null);
  });
  assert.equal(k.run().status, "ok");
  assert.equal(ran, 1);
});
