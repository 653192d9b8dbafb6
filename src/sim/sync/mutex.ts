/**
 * struct mutex (kernel/locking/mutex.c): a sleeping lock with one owner.
 *
 * mutex_lock() may sleep (a violation in atomic context even when uncontended, as
 * might_sleep() makes it), only the owner may unlock, and taking it twice in one task
 * is a self-deadlock that lockdep reports. An unlock wakes the oldest waiter, which
 * then competes for the lock again: another task may get there first, as on real
 * hardware.
 */
import type { Kernel } from "../kernel.ts";
import type { LockClass, LockInstance } from "../lockdep.ts";
import type { KGen, Task, WaitChannel } from "../task.ts";
import { WaitList } from "./waitList.ts";

export class Mutex implements LockInstance, WaitChannel {
  readonly lockClass: LockClass;
  owner: Task | null = null;
  private readonly waiters = new WaitList();
  private readonly lockLabel: string;

  /** `name` is also the lockdep class unless `className` is given. */
  constructor(
    private readonly k: Kernel,
    readonly name: string,
    className: string = name,
  ) {
    this.lockClass = k.lockdep.classFor(className);
    this.lockLabel = `mutex_lock(${name})`;
  }

  describe(): string {
    return `mutex ${this.name} (owner ${this.owner?.label ?? "none"})`;
  }

  /** mutex_lock(); with a lockdep subclass of its class, mutex_lock_nested(). */
  *lock(subclass = 0): KGen {
    const k = this.k;
    const task = k.currentTask();
    k.mightSleep(this.lockLabel);
    k.lockdep.acquire(task, this, "exclusive", false, subclass);
    yield this.lockLabel;
    while (this.owner !== null) {
      this.waiters.add(task);
      k.block(this);
      yield this.lockLabel;
    }
    this.owner = task;
  }

  /** mutex_trylock(): true when acquired; never sleeps. */
  trylock(): boolean {
    const task = this.k.currentTask();
    if (this.owner !== null) return false;
    this.k.lockdep.acquire(task, this, "exclusive", true);
    this.owner = task;
    return true;
  }

  /** mutex_unlock(). */
  unlock(): void {
    const k = this.k;
    const task = k.currentTask();
    if (this.owner !== task) {
      k.report("unlock_not_owner", `${task.label} unlocks ${this.describe()}`, {
        lock: this.name,
      });
      return;
    }
    k.lockdep.release(task, this);
    this.owner = null;
    this.waiters.wakeOne(k);
  }

  /** mutex_is_locked(). */
  isLocked(): boolean {
    return this.owner !== null;
  }

  /** lockdep_assert_held(). */
  assertHeld(): void {
    this.k.lockdep.assertHeld(this.k.currentTask(), this);
  }
}
