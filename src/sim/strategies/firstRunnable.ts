/**
 * The simplest strategy: always run the lowest-id runnable task. It is the scheduler's
 * "no preemption" baseline: a task runs until it blocks or ends, and it never fires a
 * timer early, so time moves only when nothing can run, whatever the timing.
 *
 * Models no kernel file.
 */
import type { Strategy } from "../strategy.ts";
import type { Task } from "../task.ts";

export class FirstRunnable implements Strategy {
  readonly name = "first";

  start(): void {
    // Stateless.
  }

  pick(runnable: readonly Task[]): Task {
    return runnable[0] as Task;
  }
}
