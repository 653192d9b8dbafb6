/**
 * At every step, pick a runnable task uniformly at random from the run's seed: the
 * baseline every smarter search is measured against.
 *
 * Models no kernel file.
 */
import type { Prng } from "../rng.ts";
import type { Strategy, StrategyContext } from "../strategy.ts";
import type { Task } from "../task.ts";

export class UniformRandom implements Strategy {
  readonly name = "random";
  private rng: Prng | null = null;

  start(ctx: StrategyContext): void {
    this.rng = ctx.rng;
  }

  pick(runnable: readonly Task[]): Task {
    if (runnable.length === 1 || this.rng === null) return runnable[0] as Task;
    return runnable[this.rng.nextInt(runnable.length)] as Task;
  }
}
