/**
 * struct rw_semaphore (kernel/locking/rwsem.c): many readers or one writer.
 *
 * As in the kernel, a reader does not overtake a queued writer (down_read waits while
 * a writer holds the lock or waits for it), which is what makes a reader that already
 * holds it and asks again deadlock behind a writer. The trylock forms fail rather than
 * wait, including when any task is queued. Lockdep sees each holder separately.
 */
import type { Kernel } from "../kernel.ts";
import type { LockClass, LockInstance } from "../lockdep.ts";
import type { KGen, Task, WaitChannel } from "../task.ts";
import { WaitList } from "./waitList.ts";

export class RwSemaphore implements LockInstance, WaitChannel {
  readonly lockClass: LockClass;
  writer: Task | null = null;
  /** Read holders and how many read holds each has (a trylock may nest a read hold). */
  readonly readers = new Map<Task, number>();
  private readonly waiters = new WaitList();
  private writersWaiting = 0;
  private readonly readLabel: string;
  private readonly writeLabel: string;

  constructor(
    private readonly k: Kernel,
    readonly name: string,
    className: string = name,
  ) {
    this.lockClass = k.lockdep.classFor(className);
    this.readLabel = `down_read(${name})`;
    this.writeLabel = `down_write(${name})`;
  }

  describe(): string {
    const readers = [...this.readers.keys()].map((t) => t.label).join(", ");
    return `rwsem ${this.name} (writer ${this.writer?.label ?? "none"}, readers [${readers}])`;
  }

  /** down_read(); with a lockdep subclass of its class, down_read_nested(). */
  *downRead(subclass = 0): KGen {
    const k = this.k;
    const task = k.currentTask();
    k.mightSleep(this.readLabel);
    k.lockdep.acquire(task, this, "read", false, subclass);
    yield this.readLabel;
    while (this.writer !== null || this.writersWaiting > 0) {
      this.waiters.add(task);
      k.block(this);
      yield this.readLabel;
    }
    this.addReader(task);
  }

  /** down_write(); with a lockdep subclass of its class, down_write_nested(). */
  *downWrite(subclass = 0): KGen {
    const k = this.k;
    const task = k.currentTask();
    k.mightSleep(this.writeLabel);
    k.lockdep.acquire(task, this, "write", false, subclass);
    yield this.writeLabel;
    while (this.writer !== null || this.readers.size > 0) {
      this.writersWaiting++;
      this.waiters.add(task);
      k.block(this);
      yield this.writeLabel;
      this.writersWaiting--;
    }
    this.writer = task;
  }

  /** down_read_trylock(): fails if a writer holds or anyone waits. */
  downReadTrylock(): boolean {
    const task = this.k.currentTask();
    if (this.writer !== null || this.waiters.hasWaiters()) return false;
    this.k.lockdep.acquire(task, this, "read", true);
    this.addReader(task);
    return true;
  }

  /** down_write_trylock(). */
  downWriteTrylock(): boolean {
    const task = this.k.currentTask();
    if (this.writer !== null || this.readers.size > 0) return false;
    this.k.lockdep.acquire(task, this, "write", true);
    this.writer = task;
    return true;
  }

  /** up_read(). */
  upRead(): void {
    const k = this.k;
    const task = k.currentTask();
    if (!this.dropReader(task)) {
      k.report("unlock_not_owner", `${task.label} up_read on ${this.describe()}`, {
        lock: this.name,
      });
      return;
    }
    k.lockdep.release(task, this);
    if (this.readers.size === 0) this.waiters.wakeAll(k);
  }

  /** up_write(). */
  upWrite(): void {
    const k = this.k;
    const task = k.currentTask();
    if (this.writer !== task) {
      k.report("unlock_not_owner", `${task.label} up_write on ${this.describe()}`, {
        lock: this.name,
      });
      return;
    }
    k.lockdep.release(task, this);
    this.writer = null;
    this.waiters.wakeAll(k);
  }

  /** downgrade_write(): the writer becomes a reader without letting a writer in. */
  downgradeWrite(): void {
    const task = this.k.currentTask();
    if (this.writer !== task) {
      this.k.report("unlock_not_owner", `${task.label} downgrades ${this.describe()}`, {
        lock: this.name,
      });
      return;
    }
    this.writer = null;
    this.addReader(task);
    this.waiters.wakeAll(this.k);
  }

  private addReader(task: Task): void {
    this.readers.set(task, (this.readers.get(task) ?? 0) + 1);
  }

  /** Drops one read hold of `task`; false if it had none. */
  private dropReader(task: Task): boolean {
    const holds = this.readers.get(task);
    if (holds === undefined) return false;
    if (holds > 1) this.readers.set(task, holds - 1);
    else this.readers.delete(task);
    return true;
  }

  /** Held for read or write by anyone. */
  isLocked(): boolean {
    return this.writer !== null || this.readers.size > 0;
  }

  /** lockdep_assert_held(): held in either mode by the current task. */
  assertHeld(): void {
    this.k.lockdep.assertHeld(this.k.currentTask(), this);
  }

  /** lockdep_assert_held_write(). */
  assertHeldWrite(): void {
    const task = this.k.currentTask();
    if (this.writer !== task) {
      this.k.report("lock_not_held", `${task.label} must hold ${this.name} for write here`, {
        lock: this.name,
      });
    }
  }
}
