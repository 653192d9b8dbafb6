/**
 * Toy scenario: N tasks each increment a shared counter with a load, a preemption
 * point and a store (the unlocked read-modify-write of every "lost update" race). The
 * post-run oracle reports `lost_update` when the counter ends below N.
 *
 * Models no kernel file.
 */
import type { Kernel } from "../../sim/kernel.ts";
import type { KGen } from "../../sim/task.ts";
import type { Scenario } from "../scenario.ts";
import { postRunViolation, toyGroup, toyKernel } from "./common.ts";

export function lostUpdateScenario(tasks = 2): Scenario {
  // Per kernel, so building a second run never disturbs the first one's oracle.
  const counters = new WeakMap<Kernel, { value: number }>();
  return {
    name: `lost-update-${tasks}`,
    description: `toy lost-update v1: ${tasks} tasks, each: load counter; yield; store load+1`,
    build(ctx) {
      const k = toyKernel(ctx);
      const counter = { value: 0 };
      counters.set(k, counter);
      for (let i = 0; i < tasks; i++) {
        k.spawn(`inc${i}`, toyGroup, () => increment(k, counter));
      }
      return k;
    },
    check(k, result) {
      const counter = counters.get(k)?.value ?? tasks;
      if (result.status !== "ok" || counter === tasks) return [];
      return [
        postRunViolation(result, "lost_update", `counter is ${counter}, expected ${tasks}`, {
          counter,
          expected: tasks,
          objects: ["counter"],
        }),
      ];
    },
  };
}

/** counter++ as a load, a step, and a store of what was loaded plus one. */
function* increment(k: Kernel, counter: { value: number }): KGen {
  const seen = counter.value;
  k.event("load counter", { count: seen, reads: "counter" });
  yield "load counter";
  counter.value = seen + 1;
  k.event("store counter", { count: counter.value, writes: "counter" });
}

export const lostUpdate = lostUpdateScenario(2);
