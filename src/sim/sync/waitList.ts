/**
 * The FIFO of tasks blocked on one primitive: the list a wait_queue_head_t or a
 * mutex's wait_list holds (kernel/sched/wait.c, kernel/locking/mutex.c).
 *
 * Entries remember the block they belong to, so a task that left the wait by a
 * timeout or a signal is skipped rather than woken by a stale entry.
 */
import type { Kernel } from "../kernel.ts";
import type { Task } from "../task.ts";

export class WaitList {
  private tasks: Task[] = [];
  private seqs: number[] = [];

  /** Queues `task` for the block it is about to enter (call before `Kernel.block`). */
  add(task: Task): void {
    this.tasks.push(task);
    this.seqs.push(task.blockSeq + 1);
  }

  /** Wakes the longest waiting task still in its wait. Returns it, or null. */
  wakeOne(k: Kernel): Task | null {
    while (this.tasks.length > 0) {
      const task = this.tasks.shift() as Task;
      const seq = this.seqs.shift() as number;
      if (task.state === "blocked" && task.blockSeq === seq) {
        k.wake(task);
        return task;
      }
    }
    return null;
  }

  /** Wakes every task still in its wait, oldest first. */
  wakeAll(k: Kernel): number {
    let woken = 0;
    while (this.wakeOne(k) !== null) woken++;
    return woken;
  }

  /** Whether some task is still waiting (stale entries are pruned first). */
  hasWaiters(): boolean {
    while (this.tasks.length > 0) {
      const task = this.tasks[0] as Task;
      if (task.state === "blocked" && task.blockSeq === this.seqs[0]) return true;
      this.tasks.shift();
      this.seqs.shift();
    }
    return false;
  }

  /** The waiting tasks, oldest first (for reports). */
  waiters(): Task[] {
    return this.tasks.filter((t, i) => t.state === "blocked" && t.blockSeq === this.seqs[i]);
  }
}
