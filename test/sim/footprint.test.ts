import assert from "node:assert/strict";
import { test } from "node:test";
import { FirstRunnable } from "../../src/sim/strategies/firstRunnable.ts";
import type { FootprintRecorder } from "../../src/sim/footprint.ts";
import { Kernel } from "../../src/sim/kernel.ts";
import { Mutex } from "../../src/sim/sync/mutex.ts";
import type { KGen, Task, TaskGroup } from "../../src/sim/task.ts";

const group: TaskGroup = { kind: "process", name: "test" };

/** Records each step as "task: keys" (or "task: opaque"). */
class Log implements FootprintRecorder {
  readonly steps: { task: string; opaque: boolean; keys: string[] }[] = [];
  begin(task: Task, declared: boolean): void {
    this.steps.push({ task: task.name, opaque: !declared, keys: [] });
  }
  touch(key: string): void {
    this.steps.at(-1)?.keys.push(key);
  }
  opaque(): void {
    const last = this.steps.at(-1);
    if (last !== undefined) last.opaque = true;
  }
  covered(): boolean {
    return false;
  }
}

test("the kernel records locks held, blocks, wakes and touches of declared tasks", () => {
  const k = new Kernel({ strategy: new FirstRunnable() });
  const m = new Mutex(k, "m");
  let sleeper: Task | null = null;
  const a = k.spawn("a", group, function* (self): KGen {
    yield* m.lock();
    k.touch("x");
    m.unlock();
    sleeper = self;
    k.block({ describe: () => "test" });
    yield "sleep";
  });
  const b = k.spawn("b", group, function* (): KGen {
    if (sleeper !== null) k.wake(sleeper);
    yield "woke";
  });
  k.declareFootprint(a);
  k.declareFootprint(b);
  const log = new Log();
  k.recordFootprints(log);
  assert.equal(k.run().status, "ok");
  const keys = log.steps.map((s) => `${s.task}: ${[...new Set(s.keys)].join(" ")}`);
  assert.deepEqual(keys, [
    "a: task#0 lock:m", // first step: reads its signal; mutex_lock() is acquiring m
    "a: lock:m x task#0", // owns m, touches x, releases m, blocks itself
    "b: task#1 task#0", // wakes a
    "a: task#0", // exits
    "b: task#1", // exits
  ]);
  assert.ok(log.steps.every((s) => !s.opaque));
});

test("steps of undeclared tasks and steps that report are opaque", () => {
  const k = new Kernel({ strategy: new FirstRunnable() });
  const quiet = k.spawn("quiet", group, function* (): KGen {
    yield "one";
  });
  k.spawn("undeclared", group, function* (): KGen {
    yield "one";
  });
  const loud = k.spawn("loud", group, function* (): KGen {
    k.warnOn(true, "test warning");
    yield "two";
  });
  k.declareFootprint(quiet);
  k.declareFootprint(loud);
  const log = new Log();
  k.recordFootprints(log);
  k.run();
  const opaque = log.steps.map((s) => `${s.task}:${String(s.opaque)}`);
  assert.deepEqual(opaque.slice(0, 3), ["quiet:false", "quiet:false", "undeclared:true"]);
  assert.equal(log.steps.at(-1)?.task, "loud");
  assert.equal(log.steps.at(-1)?.opaque, true);
});

test("a recorder can stop the run before a pick, and a kernel without one records nothing", () => {
  const k = new Kernel({ strategy: new FirstRunnable() });
  k.spawn("t", group, function* (): KGen {
    k.touch("x"); // no recorder: must be a harmless no-op
    yield "one";
    yield "two";
  });
  assert.equal(k.run().steps, 3);
  const stopped = new Kernel({ strategy: new FirstRunnable() });
  stopped.spawn("t", group, function* (): KGen {
    yield "one";
    yield "two";
  });
  const log = new Log();
  log.covered = () => log.steps.length === 2;
  stopped.recordFootprints(log);
  assert.equal(stopped.run().steps, 2);
});
