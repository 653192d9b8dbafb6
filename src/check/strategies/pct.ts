/**
 * Probabilistic Concurrency Testing (Burckhardt, Kothari, Musuvathi, Nagarakatte:
 * "A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010).
 *
 * Models no kernel file. Every task gets a random priority when it is spawned, all of
 * them at least `depth`; d-1 change points are drawn uniformly from [0, k), and the i-th
 * point drawn carries priority i (below every initial priority). The scheduler always
 * runs the highest-priority runnable task; when the run reaches a change point, the task
 * that was about to run drops to that point's priority and the pick is made again. A bug
 * of depth d is then found by one run with probability at least 1/(n·k^(d-1)) for n
 * tasks.
 *
 * k counts choice points, the steps where more than one task can run, not all steps. A
 * change point where a single task can run cannot change that step, and it has much the
 * same effect as a point at the next choice; counting every step would only spread the
 * d-1 points thinner. Most steps of the catalog scenarios have one runnable task
 * (fault-vs-invalidate: about 40 choices in 110 steps), so the bound rises by
 * (steps/choices)^(d-1).
 *
 * Initial priorities are `depth + u` for a uniform 32-bit u drawn at spawn, which orders
 * the tasks by a uniformly random permutation even when tasks are spawned during the
 * run (kworkers, SRCU callbacks); ties, vanishingly rare, go to the lower id.
 *
 * Under free timing the timer is one more competitor: it gets a priority like a task's,
 * drawn when the run starts, and fires whenever it is armed and outranks every runnable
 * task. A step where the timer is offered counts as a choice point, and a change point
 * that falls on a step the timer would win lowers the timer's priority, exactly as it
 * would a task's. So one run places time at one random rank among the tasks: above all
 * of them, sleeps end as soon as they are armed; below all, time moves only when nothing
 * else can run (the nominal order); change points move it down mid-run.
 */
import type { Prng } from "../../sim/rng.ts";
import { TIMER, type Pick, type Strategy, type StrategyContext } from "../../sim/strategy.ts";
import type { Task } from "../../sim/task.ts";

export interface PctOptions {
  /** The bug depth d searched for: d-1 change points. Default 3. */
  readonly depth?: number;
  /** k, the expected number of choice points of a run (the explorer's estimate). Default 100. */
  readonly choices?: number;
}

export const PCT_DEFAULT_DEPTH = 3;
export const PCT_DEFAULT_CHOICES = 100;

export class Pct implements Strategy {
  readonly name = "pct";
  readonly depth: number;
  readonly choices: number;
  private rng: Prng | null = null;
  /** Priority by task id. */
  private priority: number[] = [];
  /** The timer's priority (free timing). */
  private timerPriority = 0;
  /** Choice point index -> the low priority a task takes there. */
  private changePoints = new Map<number, number>();
  /** Choice points passed so far in this run. */
  private choicesMade = 0;

  constructor(options: PctOptions = {}) {
    this.depth = options.depth ?? PCT_DEFAULT_DEPTH;
    this.choices = Math.max(1, Math.floor(options.choices ?? PCT_DEFAULT_CHOICES));
    if (!Number.isInteger(this.depth) || this.depth < 1) {
      throw new RangeError(`PCT depth must be an integer >= 1, got ${this.depth}`);
    }
  }

  start(ctx: StrategyContext): void {
    this.rng = ctx.rng;
    this.priority = [];
    this.changePoints = new Map();
    this.choicesMade = 0;
    this.timerPriority = this.depth + ctx.rng.nextU32();
    const points = Math.min(this.depth - 1, this.choices);
    for (let i = 1; i <= points; i++) {
      let at = ctx.rng.nextInt(this.choices);
      while (this.changePoints.has(at)) at = ctx.rng.nextInt(this.choices);
      this.changePoints.set(at, i);
    }
  }

  onSpawn(task: Task): void {
    const u = this.rng === null ? 0 : this.rng.nextU32();
    this.priority[task.id] = this.depth + u;
  }

  /** The change points drawn for this run, choice index -> priority (for tests). */
  changePointChoices(): ReadonlyMap<number, number> {
    return this.changePoints;
  }

  pick(runnable: readonly Task[], _step: number, timer: boolean): Pick {
    const best = this.highest(runnable, timer);
    if (runnable.length + (timer ? 1 : 0) < 2) return best;
    const low = this.changePoints.get(this.choicesMade++);
    if (low === undefined) return best;
    if (best === TIMER) this.timerPriority = low;
    else this.priority[best.id] = low;
    return this.highest(runnable, timer);
  }

  /** The highest-priority runnable task, or the timer when offered and higher still. */
  private highest(runnable: readonly Task[], timer: boolean): Pick {
    const task = this.highestTask(runnable);
    if (timer && this.timerPriority > (this.priority[task.id] ?? 0)) return TIMER;
    return task;
  }

  private highestTask(runnable: readonly Task[]): Task {
    let best = runnable[0] as Task;
    let bestPriority = this.priority[best.id] ?? 0;
    for (let i = 1; i < runnable.length; i++) {
      const task = runnable[i] as Task;
      const p = this.priority[task.id] ?? 0;
      if (p > bestPriority) {
        best = task;
        bestPriority = p;
      }
    }
    return best;
  }
}
