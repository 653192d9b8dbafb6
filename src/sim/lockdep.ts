/**
 * Lock-order checking in the manner of lockdep (kernel/locking/lockdep.c).
 *
 * Locks belong to classes by name. Every non-try acquisition made while other locks
 * are held adds "held class -> new class" edges to one graph that spans the whole run.
 * An edge A -> B whose reverse path B => A already exists is an inversion: some task
 * took the locks in one order, another (or the same, earlier) in the other order. It
 * is reported at once, even if this run never deadlocked, with both chains:
 *
 *     task X, step 40: holds A, acquires B        (the new edge)
 *     task Y, step 12: holds B, acquires A        (the existing path, edge by edge)
 *
 * A trylock adds no edge (it cannot wait, so it cannot close a cycle) but is held, so
 * locks taken under it do add edges, as in lockdep.
 *
 * Two locks of one class are one node, so nesting them is no edge; as lockdep's
 * check_deadlock, taking one while holding another of its class is reported at once as
 * possible recursive locking, whichever instances they are: a second task nesting them
 * the other way round would deadlock with the first, and the graph cannot tell. Code
 * that nests them in an order of its own says so with a subclass (mutex_lock_nested and
 * the like: the `subclass` argument of Mutex.lock, RwSemaphore.downRead/downWrite and
 * Spinlock.lock): `CLASS/N` is a class of its own.
 *
 * With tracing on, each acquisition (when asked for, before any wait) and release is an
 * event, `lock_acquire` / `lock_release` as lockdep's tracepoints, writing the lock's
 * guard id `~lock:CLASS[NAME]` (src/sim/objectAccess.ts): a part of its class, so a
 * report that names a class (an inversion) finds every lock of it.
 *
 * Hard IRQ context is one more class, `hardirq`: a lock taken in a hard IRQ handler
 * depends on it (hardirq -> L), and a spinlock held with hard IRQs enabled lets it in
 * (L -> hardirq, the IRQ may arrive on that CPU). Both for one lock close a cycle:
 * lockdep's "inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage", reported here as an
 * inversion against the hardirq class.
 */
import { guardId, objectId } from "./objectAccess.ts";
import type { Task } from "./task.ts";
import type { TraceFields } from "./trace.ts";

/** The pseudo-class of hard IRQ context. */
export const HARDIRQ_CLASS = "hardirq";

export interface LockClass {
  readonly id: number;
  readonly name: string;
}

/** Anything lockdep tracks: a mutex, rw-semaphore, spinlock. */
export interface LockInstance {
  readonly lockClass: LockClass;
  readonly name: string;
}

export type LockMode = "exclusive" | "read" | "write";

export interface HeldLock {
  readonly lock: LockInstance;
  /** The class it was taken as: its own, or `CLASS/N` taken with subclass N. */
  readonly lockClass: LockClass;
  readonly mode: LockMode;
  readonly step: number;
  readonly trylock: boolean;
}

/** Where a dependency edge was first seen. */
export interface DependencySite {
  readonly task: string;
  readonly step: number;
  /** Class names held at that moment, outermost first, then the one acquired. */
  readonly chain: readonly string[];
}

/** What lockdep needs of the kernel: where we are, and a way to report. */
export interface LockdepHost {
  readonly stepNow: number;
  /** Non-null while the run is traced. */
  readonly trace: object | null;
  report(kind: string, message: string, details: Record<string, unknown>): void;
  event(label: string, fields?: TraceFields): void;
}

/** The trace's guard id of a lock, a part of its class's (`lockClassId`). */
export function lockId(lock: LockInstance): string {
  return `${lockClassId(lock.lockClass.name)}[${objectId(lock.name)}]`;
}

/** The trace's guard id of a lock class (`~lock:mmap_lock`). */
export function lockClassId(className: string): string {
  return guardId(`lock:${objectId(className)}`);
}

export class Lockdep {
  private readonly classes = new Map<string, LockClass>();
  private readonly edges = new Map<number, Map<number, DependencySite>>();
  private readonly reportedPairs = new Set<string>();
  private readonly reportedNesting = new Set<LockClass>();

  constructor(private readonly host: LockdepHost) {}

  /** The class named `name`, created on first use (lockdep's static key). */
  classFor(name: string): LockClass {
    let cls = this.classes.get(name);
    if (cls === undefined) {
      cls = { id: this.classes.size, name };
      this.classes.set(name, cls);
    }
    return cls;
  }

  /**
   * Records that `task` is acquiring `lock` (as `subclass`, for the *_nested forms); call
   * before it can block on it.
   */
  acquire(task: Task, lock: LockInstance, mode: LockMode, trylock: boolean, subclass = 0): void {
    if (this.host.trace !== null) {
      const fields = { lock: lock.name, mode, ...(trylock ? { trylock } : {}) };
      this.host.event("lock_acquire", { ...fields, writes: lockId(lock) });
    }
    // Like lockdep's validate_chain, a trylock is never checked for deadlock: it cannot
    // wait, so taking a lock already held (a nested read hold) is no recursion bug.
    const lockClass = subclass === 0 ? lock.lockClass : this.subclassFor(lock, subclass);
    const held = { lock, lockClass, mode, step: this.host.stepNow, trylock };
    if (trylock) {
      task.heldLocks.push(held);
      return;
    }
    if (this.findHeld(task, lock) >= 0) {
      this.host.report(
        "recursive_locking",
        `${task.label} acquires ${lock.name} it already holds`,
        {
          lock: lock.name,
          held: this.heldNames(task),
        },
      );
    } else {
      this.checkSameClass(task, lock, lockClass);
      for (const h of task.heldLocks) this.addEdge(task, h.lockClass, lockClass);
      if (task.inHardirq) {
        const chain = [HARDIRQ_CLASS, ...this.heldNames(task), lockClass.name];
        this.addEdge(task, this.classFor(HARDIRQ_CLASS), lockClass, chain);
      }
    }
    task.heldLocks.push(held);
  }

  /** `CLASS/N`: the class a lock is taken as with subclass N (lockdep's subclass keys). */
  private subclassFor(lock: LockInstance, subclass: number): LockClass {
    return this.classFor(`${lock.lockClass.name}/${String(subclass)}`);
  }

  /** check_deadlock: another lock of the class `lock` is taken as is held (not by trylock). */
  private checkSameClass(task: Task, lock: LockInstance, lockClass: LockClass): void {
    const other = task.heldLocks.find((h) => h.lockClass === lockClass && !h.trylock);
    if (other === undefined || this.reportedNesting.has(lockClass)) return;
    this.reportedNesting.add(lockClass);
    this.host.report(
      "recursive_locking",
      `possible recursive locking: ${task.label} acquires ${lock.name} holding ` +
        `${other.lock.name} of the same class ${lockClass.name} (nesting them needs a subclass)`,
      { lock: lock.name, held: this.heldNames(task), class: lockClass.name },
    );
  }

  /** `task` holds spinlock `lock` with hard IRQs enabled (outside an IRQ handler). */
  heldWithHardirqsOn(task: Task, lock: LockInstance): void {
    const lockClass = this.heldAs(task, lock) ?? lock.lockClass;
    const chain = [lockClass.name, HARDIRQ_CLASS];
    this.addEdge(task, lockClass, this.classFor(HARDIRQ_CLASS), chain);
  }

  /** Undoes `acquire` for a trylock that failed: the lock was never held. */
  abandon(task: Task, lock: LockInstance): void {
    const i = this.findHeld(task, lock);
    if (i >= 0) task.heldLocks.splice(i, 1);
  }

  /** Records a release; returns false (and reports) if `task` did not hold `lock`. */
  release(task: Task, lock: LockInstance): boolean {
    const i = this.findHeld(task, lock);
    if (i < 0) {
      this.host.report("unlock_not_owner", `${task.label} releases ${lock.name} it does not hold`, {
        lock: lock.name,
        held: this.heldNames(task),
      });
      return false;
    }
    task.heldLocks.splice(i, 1);
    if (this.host.trace !== null) {
      this.host.event("lock_release", { lock: lock.name, writes: lockId(lock) });
    }
    return true;
  }

  isHeld(task: Task, lock: LockInstance): boolean {
    return this.findHeld(task, lock) >= 0;
  }

  /** lockdep_assert_held(): a violation when `task` does not hold `lock`. */
  assertHeld(task: Task, lock: LockInstance): void {
    if (!this.isHeld(task, lock)) {
      this.host.report("lock_not_held", `${task.label} must hold ${lock.name} here`, {
        lock: lock.name,
        held: this.heldNames(task),
      });
    }
  }

  /** Every dependency edge seen so far, as [held class, acquired class] names. */
  dependencies(): [string, string][] {
    const names = [...this.classes.values()];
    return [...this.edges].flatMap(([from, out]) =>
      [...out.keys()].map((to): [string, string] => [
        names[from]?.name ?? String(from),
        names[to]?.name ?? String(to),
      ]),
    );
  }

  /** Names of the locks `task` holds, outermost first. */
  heldNames(task: Task): string[] {
    return task.heldLocks.map((h) => h.lock.name);
  }

  /** The class `task` holds `lock` as, if it holds it. */
  private heldAs(task: Task, lock: LockInstance): LockClass | undefined {
    const i = this.findHeld(task, lock);
    return i < 0 ? undefined : task.heldLocks[i]?.lockClass;
  }

  private findHeld(task: Task, lock: LockInstance): number {
    const held = task.heldLocks;
    for (let i = held.length - 1; i >= 0; i--) if (held[i]?.lock === lock) return i;
    return -1;
  }

  private addEdge(task: Task, from: LockClass, to: LockClass, chain?: readonly string[]): void {
    if (from === to) return; // same class, other instance: nesting, not an order.
    let out = this.edges.get(from.id);
    if (out === undefined) {
      out = new Map();
      this.edges.set(from.id, out);
    }
    if (out.has(to.id)) return;
    const site: DependencySite = {
      task: task.label,
      step: this.host.stepNow,
      chain: chain ?? [...task.heldLocks.map((h) => h.lockClass.name), to.name],
    };
    const reverse = this.findPath(to.id, from.id);
    out.set(to.id, site);
    if (reverse !== null) this.reportInversion(from, to, site, reverse);
  }

  /** The edges of a path from class `src` to class `dst`, or null (breadth first). */
  private findPath(src: number, dst: number): DependencySite[] | null {
    const via = new Map<number, { prev: number; site: DependencySite }>();
    const queue = [src];
    for (let head = 0; head < queue.length; head++) {
      const node = queue[head] as number;
      if (node === dst) return this.unwind(via, src, dst);
      for (const [next, site] of this.edges.get(node) ?? []) {
        if (next === src || via.has(next)) continue;
        via.set(next, { prev: node, site });
        queue.push(next);
      }
    }
    return null;
  }

  private unwind(
    via: Map<number, { prev: number; site: DependencySite }>,
    src: number,
    dst: number,
  ): DependencySite[] {
    const path: DependencySite[] = [];
    for (let node = dst; node !== src;) {
      const hop = via.get(node);
      if (hop === undefined) break;
      path.unshift(hop.site);
      node = hop.prev;
    }
    return path;
  }

  private reportInversion(
    from: LockClass,
    to: LockClass,
    site: DependencySite,
    reverse: DependencySite[],
  ): void {
    const pair = from.id < to.id ? `${from.id}:${to.id}` : `${to.id}:${from.id}`;
    if (this.reportedPairs.has(pair)) return;
    this.reportedPairs.add(pair);
    const describe = (s: DependencySite) => `${s.task} at step ${s.step}: ${s.chain.join(" -> ")}`;
    const irqLock = from.name === HARDIRQ_CLASS ? to : to.name === HARDIRQ_CLASS ? from : null;
    this.host.report(
      "lock_order_inversion",
      irqLock !== null
        ? `inconsistent lock state: ${irqLock.name} is taken in hard IRQ context and ` +
            `held elsewhere with hard IRQs enabled ({HARDIRQ-ON-W} -> {IN-HARDIRQ-W})`
        : `possible circular locking dependency: ${from.name} -> ${to.name} here, ` +
            `${to.name} => ${from.name} earlier`,
      {
        newChain: describe(site),
        existingChain: reverse.map(describe),
        locks: [from.name, to.name],
      },
    );
  }
}
