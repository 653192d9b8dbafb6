/**
 * Toy scenario: a lost wake-up. The waiter tests `done`, is preempted, then goes to
 * sleep without testing again; the waker sets `done` and wakes only a waiter that is
 * already asleep. If the waker runs entirely inside the waiter's window, the waiter
 * sleeps forever: a deadlock that only one narrow interleaving produces (the bug
 * `prepare_to_wait()` before the test exists to prevent).
 *
 * Models no kernel file.
 */
import type { Kernel } from "../../sim/kernel.ts";
import type { KGen, Task, WaitChannel } from "../../sim/task.ts";
import type { Scenario } from "../scenario.ts";
import { toyGroup, toyKernel } from "./common.ts";

export const lostWakeup: Scenario = {
  name: "lost-wakeup",
  description:
    "toy lost-wakeup v1: waiter tests done, yields, sleeps; waker works, sets done, wakes a sleeper",
  build(ctx) {
    const k = toyKernel(ctx);
    const event: Event = { done: false, sleeper: null };
    k.spawn("waiter", toyGroup, (self) => waiter(k, self, event));
    k.spawn("waker", toyGroup, () => waker(k, event));
    return k;
  },
};

interface Event {
  done: boolean;
  sleeper: Task | null;
}

const CHANNEL: WaitChannel = { describe: () => "event done" };

/** Tests `done`, then (a step later) sleeps without re-testing it: the bug. */
function* waiter(k: Kernel, self: Task, event: Event): KGen {
  if (!event.done) {
    yield "test done: false";
    event.sleeper = self;
    k.block(CHANNEL);
    yield "schedule()";
  }
  k.event("waiter runs on");
}

function* waker(k: Kernel, event: Event): KGen {
  yield "work";
  event.done = true;
  yield "set done";
  if (event.sleeper !== null) k.wake(event.sleeper);
  yield "wake sleeper";
}
