/**
 * Toy scenario for counting schedules: `tasks` independent tasks of `steps` scheduler
 * steps each (steps-1 yields, then the exit), no violations. With an unbounded
 * preemption budget its schedules are the multinomial (tasks·steps)! / (steps!)^tasks.
 *
 * Models no kernel file.
 */
import type { KGen } from "../../sim/task.ts";
import type { Scenario } from "../scenario.ts";
import { toyGroup, toyKernel } from "./common.ts";

export function interleavingsScenario(tasks: number, steps: number): Scenario {
  return {
    name: `interleavings-${tasks}x${steps}`,
    description: `toy interleavings v1: ${tasks} tasks of ${steps} steps`,
    build(ctx) {
      const k = toyKernel(ctx);
      for (let t = 0; t < tasks; t++) {
        k.spawn(`t${t}`, toyGroup, () => labelledSteps(steps));
      }
      return k;
    },
  };
}

/** `steps` steps: the first unlabelled (up to the first yield), then step 1, 2, ... */
function* labelledSteps(steps: number): KGen {
  for (let i = 1; i < steps; i++) yield `step ${i}`;
}

export const interleavings2x2 = interleavingsScenario(2, 2);
