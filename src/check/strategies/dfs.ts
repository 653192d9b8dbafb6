/**
 * Systematic depth-first search over schedules with a preemption bound (iterative
 * context bounding, Musuvathi & Qadeer, PLDI 2007), without partial-order reduction.
 *
 * Models no kernel file. The search keeps a stack of choice points, one per step of the
 * last run: the runnable tasks there, in the order they are tried, and which one is
 * being explored. Each run re-executes the scenario from scratch with a `DfsStrategy`
 * that follows the stack as a prefix and, past it, extends with the non-preemptive
 * choice (the previous task if it can still run, else the lowest id), pushing new
 * choice points. After the run, the deepest choice point with an untried alternative
 * is advanced and everything below it dropped. An alternative that switches away from
 * a task that could still run costs one preemption; alternatives that would exceed the
 * bound are never tried. Each run is a distinct complete schedule (runs differ at the
 * choice point advanced), so the count of runs is the count of schedules under the
 * bound once the stack empties.
 *
 * Every step is a choice point, even where only one task can run (it then has a single
 * alternative). Sleep sets and DPOR are not implemented: schedules that differ only in
 * the order of independent steps are all explored.
 */
import type { Strategy } from "../../sim/strategy.ts";
import type { Task } from "../../sim/task.ts";

interface ChoicePoint {
  /** Task ids in the order they are tried: the non-preemptive choice first. */
  readonly alternatives: readonly number[];
  /** Index into `alternatives` of the branch being explored. */
  current: number;
}

export class DfsSearch {
  private readonly stack: ChoicePoint[] = [];
  private runs = 0;
  private done = false;

  constructor(readonly preemptionBound: number = Infinity) {
    if (!(preemptionBound >= 0)) {
      throw new RangeError(`preemption bound must be >= 0, got ${preemptionBound}`);
    }
  }

  /** Complete schedules run so far (each distinct). */
  get schedules(): number {
    return this.runs;
  }

  /** True once every schedule under the bound has been run. */
  get exhausted(): boolean {
    return this.done;
  }

  /** The strategy for the next run, or null when the space is exhausted. */
  nextRun(): DfsStrategy | null {
    return this.done ? null : new DfsStrategy(this.stack, this.preemptionBound);
  }

  /** Call after each run: counts it and moves to the next unexplored branch. */
  finishRun(): void {
    this.runs++;
    while (this.stack.length > 0) {
      const top = this.stack[this.stack.length - 1] as ChoicePoint;
      if (top.current + 1 < top.alternatives.length) {
        top.current++;
        return;
      }
      this.stack.pop();
    }
    this.done = true;
  }
}

/** One run of a DFS: follows the stack, then extends it. */
export class DfsStrategy implements Strategy {
  readonly name = "dfs";
  private previous = -1;
  private preemptions = 0;

  constructor(
    private readonly stack: ChoicePoint[],
    private readonly bound: number,
  ) {}

  start(): void {
    this.previous = -1;
    this.preemptions = 0;
  }

  pick(runnable: readonly Task[], step: number): Task {
    let point = this.stack[step];
    if (point === undefined) {
      point = { alternatives: this.alternatives(runnable), current: 0 };
      this.stack.push(point);
    }
    const id = point.alternatives[point.current] as number;
    const task = runnable.find((t) => t.id === id);
    if (task === undefined) {
      throw new Error(`DFS replay diverged at step ${step}: task ${id} cannot run`);
    }
    if (this.previousRunnable(runnable) && id !== this.previous) this.preemptions++;
    this.previous = id;
    return task;
  }

  private previousRunnable(runnable: readonly Task[]): boolean {
    return this.previous >= 0 && runnable.some((t) => t.id === this.previous);
  }

  private alternatives(runnable: readonly Task[]): number[] {
    if (this.previousRunnable(runnable)) {
      const others = this.preemptions + 1 <= this.bound;
      const rest = others ? runnable.filter((t) => t.id !== this.previous).map((t) => t.id) : [];
      return [this.previous, ...rest];
    }
    return runnable.map((t) => t.id);
  }
}
