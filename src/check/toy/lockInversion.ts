/**
 * Toy scenario: the ABBA lock order. One task takes A then B, the other B then A;
 * lockdep reports the inversion in every schedule, whether or not it deadlocks.
 *
 * Models no kernel file.
 */
import { Mutex } from "../../sim/sync/mutex.ts";
import type { KGen } from "../../sim/task.ts";
import type { Scenario } from "../scenario.ts";
import { toyGroup, toyKernel } from "./common.ts";

export const lockInversion: Scenario = {
  name: "lock-inversion",
  description: "toy lock-inversion v1: ab locks A then B, ba locks B then A, one yield inside",
  build(ctx) {
    const k = toyKernel(ctx);
    const a = new Mutex(k, "lock_a");
    const b = new Mutex(k, "lock_b");
    k.spawn("ab", toyGroup, () => grab(a, b));
    k.spawn("ba", toyGroup, () => grab(b, a));
    return k;
  },
};

/** Locks `first`, works, locks `second` inside it, unlocks both. */
function* grab(first: Mutex, second: Mutex): KGen {
  yield* first.lock();
  yield "work";
  yield* second.lock();
  second.unlock();
  first.unlock();
}
