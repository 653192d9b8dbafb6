/**
 * spinlock_t (kernel/locking/spinlock.c): a lock whose holder is in atomic context.
 *
 * While a task holds a spinlock it must not sleep: any blocking wait or might_sleep()
 * is reported as "sleeping function called from atomic context". A contended
 * spin_lock() waits in the model as a blocked task (so the scheduler does not burn
 * steps on spinning) but that wait is legal in atomic context, since spinning is not
 * sleeping.
 */
import { SpinWait, type Kernel } from "../kernel.ts";
import type { LockClass, LockInstance } from "../lockdep.ts";
import type { KGen, Task } from "../task.ts";
import { WaitList } from "./waitList.ts";

export class Spinlock implements LockInstance {
  readonly lockClass: LockClass;
  owner: Task | null = null;
  private readonly waiters = new WaitList();
  private readonly spin: SpinWait;
  private readonly lockLabel: string;

  constructor(
    private readonly k: Kernel,
    readonly name: string,
    className: string = name,
  ) {
    this.lockClass = k.lockdep.classFor(className);
    this.spin = new SpinWait(`spinlock ${name}`);
    this.lockLabel = `spin_lock(${name})`;
  }

  /** spin_lock(); with a lockdep subclass of its class, spin_lock_nested(). */
  *lock(subclass = 0): KGen {
    const k = this.k;
    const task = k.currentTask();
    k.lockdep.acquire(task, this, "exclusive", false, subclass);
    // Held with hard IRQs on: an interrupt may come in while it is held.
    if (task.hardirqsOff === 0 && !task.inHardirq) k.lockdep.heldWithHardirqsOn(task, this);
    yield this.lockLabel;
    while (this.owner !== null) {
      this.waiters.add(task);
      k.block(this.spin);
      yield this.lockLabel;
    }
    this.owner = task;
    task.atomicDepth++;
  }

  /** spin_lock_irqsave(): hard IRQs off on this CPU, then the lock. */
  *lockIrqsave(): KGen {
    this.k.currentTask().hardirqsOff++;
    yield* this.lock();
  }

  /** spin_unlock_irqrestore(). */
  unlockIrqrestore(): void {
    this.unlock();
    this.k.currentTask().hardirqsOff--;
  }

  /** spin_trylock(). */
  trylock(): boolean {
    const task = this.k.currentTask();
    if (this.owner !== null) return false;
    this.k.lockdep.acquire(task, this, "exclusive", true);
    this.owner = task;
    task.atomicDepth++;
    return true;
  }

  /** spin_unlock(). */
  unlock(): void {
    const k = this.k;
    const task = k.currentTask();
    if (this.owner !== task) {
      k.report("unlock_not_owner", `${task.label} unlocks spinlock ${this.name}`, {
        lock: this.name,
        owner: this.owner?.label ?? null,
      });
      return;
    }
    k.lockdep.release(task, this);
    this.owner = null;
    task.atomicDepth--;
    this.waiters.wakeOne(k);
  }

  isLocked(): boolean {
    return this.owner !== null;
  }

  assertHeld(): void {
    this.k.lockdep.assertHeld(this.k.currentTask(), this);
  }
}
