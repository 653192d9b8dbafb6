/**
 * wait_queue_head_t (kernel/sched/wait.c, include/linux/wait.h): sleep until a
 * condition holds.
 *
 * wait_event() checks the condition, sleeps, and checks again after every wake_up();
 * a wake-up with the condition still false just sleeps again. The killable form ends
 * early when the task gets SIGKILL.
 */
import type { Kernel } from "../kernel.ts";
import type { KGen, WaitChannel } from "../task.ts";
import { WaitList } from "./waitList.ts";

export class WaitQueueHead implements WaitChannel {
  private readonly waiters = new WaitList();
  private readonly waitLabel: string;

  constructor(
    private readonly k: Kernel,
    readonly name: string,
    /** An idle queue's waiters are not deadlocked (a daemon waiting for work). */
    readonly idle = false,
  ) {
    this.waitLabel = `wait_event(${name})`;
  }

  describe(): string {
    return `wait queue ${this.name}`;
  }

  /** wait_event(). */
  *waitEvent(condition: () => boolean): KGen {
    yield* this.waitEventTimeout(condition, Infinity);
  }

  /** wait_event_timeout(): ns left when the condition became true (>= 1), or 0. */
  *waitEventTimeout(condition: () => boolean, timeoutNs: number): KGen<number> {
    const k = this.k;
    const task = k.currentTask();
    if (!this.idle) k.mightSleep(this.waitLabel);
    const deadline = k.clock.now() + timeoutNs;
    while (!condition()) {
      const left = deadline - k.clock.now();
      if (left <= 0) return 0;
      this.waiters.add(task);
      k.block(this, Number.isFinite(left) ? left : undefined);
      yield this.waitLabel;
    }
    return Math.max(1, deadline - k.clock.now());
  }

  /** wait_event_killable(): false when interrupted by SIGKILL (-ERESTARTSYS). */
  *waitEventKillable(condition: () => boolean): KGen<boolean> {
    const k = this.k;
    const task = k.currentTask();
    k.mightSleep(this.waitLabel);
    while (!condition()) {
      if (task.fatalSignal) return false;
      this.waiters.add(task);
      k.block(this, undefined, true);
      yield this.waitLabel;
    }
    return true;
  }

  /** wake_up() / wake_up_all(): every waiter rechecks its condition. */
  wakeUp(): void {
    this.waiters.wakeAll(this.k);
  }

  /** waitqueue_active(). */
  active(): boolean {
    return this.waiters.hasWaiters();
  }
}
