/**
 * struct completion (kernel/sched/completion.c): "this has happened" with a count.
 *
 * complete() lets one waiter through (or banks one for a later waiter); complete_all()
 * lets every present and future waiter through until reinit_completion(). The timed
 * wait returns the time left, or 0 when it timed out, like
 * wait_for_completion_timeout() returns jiffies left.
 */
import type { Kernel } from "../kernel.ts";
import type { KGen, WaitChannel } from "../task.ts";
import { WaitList } from "./waitList.ts";

/** complete_all() sets `done` to this, as the kernel uses UINT_MAX. */
const COMPLETE_ALL = Number.MAX_SAFE_INTEGER;

export class Completion implements WaitChannel {
  private done = 0;
  private readonly waiters = new WaitList();
  private readonly waitLabel: string;

  constructor(
    private readonly k: Kernel,
    readonly name: string,
  ) {
    this.waitLabel = `wait_for_completion(${name})`;
  }

  describe(): string {
    return `completion ${this.name}`;
  }

  /** complete(). */
  complete(): void {
    if (this.done !== COMPLETE_ALL) this.done++;
    this.waiters.wakeOne(this.k);
  }

  /** complete_all(). */
  completeAll(): void {
    this.done = COMPLETE_ALL;
    this.waiters.wakeAll(this.k);
  }

  /** reinit_completion(). */
  reinit(): void {
    this.done = 0;
  }

  /** completion_done(): whether a wait would pass without sleeping. */
  completionDone(): boolean {
    return this.done > 0;
  }

  /** try_wait_for_completion(). */
  tryWait(): boolean {
    if (this.done === 0) return false;
    this.consume();
    return true;
  }

  /** wait_for_completion(). */
  *wait(): KGen {
    yield* this.waitTimeout(Infinity);
  }

  /** wait_for_completion_timeout(): the ns left (at least 1), or 0 on timeout. */
  *waitTimeout(timeoutNs: number): KGen<number> {
    const k = this.k;
    const task = k.currentTask();
    k.mightSleep(this.waitLabel);
    const deadline = k.clock.now() + timeoutNs;
    while (!this.completionDone()) {
      const left = deadline - k.clock.now();
      if (left <= 0) return 0;
      this.waiters.add(task);
      k.block(this, Number.isFinite(left) ? left : undefined);
      yield this.waitLabel;
      if (task.timedOut && !this.completionDone()) return 0;
    }
    this.consume();
    return Math.max(1, deadline - k.clock.now());
  }

  private consume(): void {
    if (this.done !== COMPLETE_ALL) this.done--;
  }
}
