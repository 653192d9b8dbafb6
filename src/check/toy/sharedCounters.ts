/**
 * Toy scenario with declared footprints, for partial-order reduction: each task does
 * some private work, then increments shared counters (task i's j-th increment goes to
 * counter (i + j) mod `counters`), either with an unlocked load / preemption point /
 * store (a lost update when two tasks interleave on one counter) or under that
 * counter's mutex. Every task is declared (`Kernel.declareFootprint`) and names each
 * counter it reads or writes, so a search with sleep sets knows which steps commute:
 * private work commutes with everything, increments of different counters commute.
 * The post-run oracle reports `lost_update` when the counters sum below the increments.
 *
 * Models no kernel file.
 */
import type { Kernel } from "../../sim/kernel.ts";
import { Mutex } from "../../sim/sync/mutex.ts";
import type { KGen } from "../../sim/task.ts";
import type { Scenario } from "../scenario.ts";
import { postRunViolation, toyGroup, toyKernel } from "./common.ts";

export interface SharedCountersOptions {
  readonly tasks?: number;
  /** Increments per task. */
  readonly increments?: number;
  readonly counters?: number;
  /** Private steps before each increment. */
  readonly work?: number;
  /** Increment under the counter's mutex (no lost update possible). */
  readonly locked?: boolean;
}

/** The counters' final values of runs of shared-counters scenarios, by kernel. */
const finalCounters = new WeakMap<Kernel, number[]>();

/** The counter values a shared-counters run left (for comparing searches' outcomes). */
export function sharedCountersOf(k: Kernel): readonly number[] | undefined {
  return finalCounters.get(k);
}

export function sharedCountersScenario(options: SharedCountersOptions = {}): Scenario {
  const tasks = options.tasks ?? 2;
  const increments = options.increments ?? 1;
  const counters = options.counters ?? 1;
  const work = options.work ?? 1;
  const locked = options.locked ?? false;
  const mode = locked ? "locked" : "unlocked";
  return {
    name: `shared-counters-${tasks}x${increments}-c${counters}-w${work}-${mode}`,
    description:
      `toy shared-counters v1: ${tasks} tasks x ${increments} ${mode} increments of ` +
      `${counters} counters, ${work} private steps before each; footprints declared`,
    build(ctx) {
      const k = toyKernel(ctx);
      const values = new Array<number>(counters).fill(0);
      finalCounters.set(k, values);
      const locks = values.map((_, c) => new Mutex(k, `counter${c}_lock`));
      const shared: Counters = { k, values, locks: locked ? locks : null };
      for (let i = 0; i < tasks; i++) {
        const task = k.spawn(`inc${i}`, toyGroup, () => incrementer(shared, i, increments, work));
        k.declareFootprint(task);
      }
      return k;
    },
    check(k, result) {
      const sum = (finalCounters.get(k) ?? []).reduce((a, b) => a + b, 0);
      const expected = tasks * increments;
      if (result.status !== "ok" || sum === expected) return [];
      return [
        postRunViolation(result, "lost_update", `counters sum to ${sum}, expected ${expected}`, {
          sum,
          expected,
        }),
      ];
    },
  };
}

interface Counters {
  readonly k: Kernel;
  readonly values: number[];
  /** The counters' mutexes when increments are locked. */
  readonly locks: readonly Mutex[] | null;
}

/** Task i: `increments` times, private work, then an increment of the next counter. */
function* incrementer(c: Counters, i: number, increments: number, work: number): KGen {
  for (let j = 0; j < increments; j++) {
    for (let w = 0; w < work; w++) yield "private work";
    const n = (i + j) % c.values.length;
    yield* c.locks === null ? racyInc(c.k, c.values, n) : lockedInc(c.k, c.values, n, c.locks);
  }
}

/** Load, preemption point, store: the read-modify-write a lost update needs. */
function* racyInc(k: Kernel, values: number[], c: number): KGen {
  k.touch(`counter${c}`);
  const seen = values[c] as number;
  yield `load counter${c}`;
  k.touch(`counter${c}`);
  values[c] = seen + 1;
  yield `store counter${c}`;
}

/** The same under the counter's mutex: its steps are ordered by the lock. */
function* lockedInc(k: Kernel, values: number[], c: number, locks: readonly Mutex[]): KGen {
  const lock = locks[c] as Mutex;
  yield* lock.lock();
  k.touch(`counter${c}`);
  values[c] = (values[c] as number) + 1;
  yield `inc counter${c}`;
  lock.unlock();
}
