/**
 * Toy scenario: a lost wake-up. The waiter tests `done`, is preempted, then goes to
 * sleep without testing again; the waker sets `done` and wakes only a waiter that is
 * already asleep. If the waker runs entirely inside the waiter's window, the waiter
 * sleeps forever: a deadlock that only one narrow interleaving produces (the bug
 * `prepare_to_wait()` before the test exists to prevent).
 *
 * Models no kernel file.
 */
import type { KGen, Task, WaitChannel } from "../../sim/task.ts";
import type { Scenario } from "../scenario.ts";
import { toyGroup, toyKernel } from "./common.ts";

export const lostWakeup: Scenario = {
  name: "lost-wakeup",
  description:
    "toy lost-wakeup v1: waiter tests done, yields, sleeps; waker works, sets done, wakes a sleeper",
  build(ctx) {
    const k = toyKernel(ctx);
    let done = false;
    let sleeper: Task | null = null;
    const channel: WaitChannel = { describe: () => "event done" };
    k.spawn("waiter", toyGroup, function* (self): KGen {
      if (!done) {
        yield "test done: false";
        sleeper = self;
        k.block(channel);
        yield "schedule()";
      }
      k.event("waiter runs on");
    });
    k.spawn("waker", toyGroup, function* (): KGen {
      yield "work";
      done = true;
      yield "set done";
      if (sleeper !== null) k.wake(sleeper);
      yield "wake sleeper";
    });
    return k;
  },
};
