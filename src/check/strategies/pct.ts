/**
 * Probabilistic Concurrency Testing (Burckhardt, Kothari, Musuvathi, Nagarakatte:
 * "A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010).
 *
 * Models no kernel file. Every task gets a random priority when it is spawned, all of
 * them at least `depth`; d-1 change points are drawn uniformly from [0, k), k being the
 * expected number of steps, and the i-th point drawn carries priority i (below every
 * initial priority). The scheduler always runs the highest-priority runnable task; when
 * the step reaches a change point, the task that was about to run drops to that point's
 * priority and the pick is made again. A bug of depth d is then found by one run with
 * probability at least 1/(n·k^(d-1)) for n tasks.
 *
 * Initial priorities are `depth + u` for a uniform 32-bit u drawn at spawn, which orders
 * the tasks by a uniformly random permutation even when tasks are spawned during the
 * run (kworkers, SRCU callbacks); ties, vanishingly rare, go to the lower id.
 */
import type { Prng } from "../../sim/rng.ts";
import type { Strategy, StrategyContext } from "../../sim/strategy.ts";
import type { Task } from "../../sim/task.ts";

export interface PctOptions {
  /** The bug depth d searched for: d-1 change points. Default 3. */
  readonly depth?: number;
  /** k, the expected step count of a run (the explorer's estimate). Default 100. */
  readonly steps?: number;
}

export const PCT_DEFAULT_DEPTH = 3;
export const PCT_DEFAULT_STEPS = 100;

export class Pct implements Strategy {
  readonly name = "pct";
  readonly depth: number;
  readonly steps: number;
  private rng: Prng | null = null;
  /** Priority by task id. */
  private priority: number[] = [];
  /** Step -> the low priority a task takes there. */
  private changePoints = new Map<number, number>();

  constructor(options: PctOptions = {}) {
    this.depth = options.depth ?? PCT_DEFAULT_DEPTH;
    this.steps = Math.max(1, Math.floor(options.steps ?? PCT_DEFAULT_STEPS));
    if (!Number.isInteger(this.depth) || this.depth < 1) {
      throw new RangeError(`PCT depth must be an integer >= 1, got ${this.depth}`);
    }
  }

  start(ctx: StrategyContext): void {
    this.rng = ctx.rng;
    this.priority = [];
    this.changePoints = new Map();
    const points = Math.min(this.depth - 1, this.steps);
    for (let i = 1; i <= points; i++) {
      let step = ctx.rng.nextInt(this.steps);
      while (this.changePoints.has(step)) step = ctx.rng.nextInt(this.steps);
      this.changePoints.set(step, i);
    }
  }

  onSpawn(task: Task): void {
    const u = this.rng === null ? 0 : this.rng.nextU32();
    this.priority[task.id] = this.depth + u;
  }

  /** The change points drawn for this run, step -> priority (for tests and reports). */
  changePointSteps(): ReadonlyMap<number, number> {
    return this.changePoints;
  }

  pick(runnable: readonly Task[], step: number): Task {
    const best = this.highest(runnable);
    const low = this.changePoints.get(step);
    if (low === undefined) return best;
    this.priority[best.id] = low;
    return this.highest(runnable);
  }

  private highest(runnable: readonly Task[]): Task {
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
