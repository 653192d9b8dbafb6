/**
 * At every step, pick uniformly at random from the run's seed among the runnable tasks
 * and, under free timing, the timer: the baseline every smarter search is measured
 * against.
 *
 * Models no kernel file. The timer weighs as much as one task: with n runnable tasks
 * and a timer armed, it fires with probability 1/(n + 1) at each step. So a timed event
 * (a sleep's end, a timeout, a packet's arrival) can overtake any number of zero-time
 * steps, each with a fixed chance, and the more tasks compete the less often time is
 * the one that moves.
 */
import type { Prng } from "../rng.ts";
import { TIMER, type Pick, type Strategy, type StrategyContext } from "../strategy.ts";
import type { Task } from "../task.ts";

export class UniformRandom implements Strategy {
  readonly name = "random";
  private rng: Prng | null = null;

  start(ctx: StrategyContext): void {
    this.rng = ctx.rng;
  }

  pick(runnable: readonly Task[], _step: number, timer: boolean): Pick {
    const choices = runnable.length + (timer ? 1 : 0);
    if (choices === 1 || this.rng === null) return runnable[0] as Task;
    const i = this.rng.nextInt(choices);
    return i === runnable.length ? TIMER : (runnable[i] as Task);
  }
}
