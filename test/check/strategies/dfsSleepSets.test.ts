import assert from "node:assert/strict";
import { test } from "node:test";
import { CATALOG } from "../../../src/check/catalog/catalog.ts";
import { explore } from "../../../src/check/explore.ts";
import { runScenario, type Scenario } from "../../../src/check/scenario.ts";
import { DfsSearch, runTruncated } from "../../../src/check/strategies/dfs.ts";
import { toyGroup } from "../../../src/check/toy/common.ts";
import {
  sharedCountersOf,
  sharedCountersScenario,
  type SharedCountersOptions,
} from "../../../src/check/toy/sharedCounters.ts";
import { Kernel } from "../../../src/sim/kernel.ts";
import { Mutex } from "../../../src/sim/sync/mutex.ts";
import { Prng } from "../../../src/sim/rng.ts";
import type { KGen, Task } from "../../../src/sim/task.ts";

// These tests compare DFS with sleep sets to DFS without, as the soundness baseline:
// both exhaust a small space, and the set of final outcomes must be the same.

/** Exhausts `scenario` under `bound`; the outcomes of complete schedules, and counts. */
function exhaust(
  scenario: Scenario,
  bound: number,
  sleepSets: boolean,
  outcome: (run: ReturnType<typeof runScenario>) => string,
) {
  const search = new DfsSearch(bound, { sleepSets });
  const outcomes = new Set<string>();
  for (let s = search.nextRun(); s !== null; s = search.nextRun()) {
    const strategy = s;
    const run = runScenario(scenario, {
      seed: 0,
      strategy,
      onKernel: (k) => {
        strategy.attach(k);
      },
    });
    if (search.finishRun(runTruncated(run.kernel, run.result))) outcomes.add(outcome(run));
  }
  assert.equal(search.exhausted, true);
  return { outcomes: [...outcomes].sort(), ...search.stats };
}

const countersOutcome = (run: ReturnType<typeof runScenario>) =>
  JSON.stringify([sharedCountersOf(run.kernel), run.violations.map((v) => v.kind)]);

const counterCases: SharedCountersOptions[] = [
  { tasks: 2, counters: 1, work: 1 },
  { tasks: 3, counters: 2, work: 0 },
  { tasks: 2, increments: 2, counters: 2, work: 1 },
  { tasks: 2, increments: 2, counters: 1, work: 0 },
  { tasks: 2, increments: 2, counters: 1, work: 1, locked: true },
];

for (const c of counterCases) {
  for (const bound of [0, 1, 2, Infinity]) {
    test(`sleep sets on shared-counters ${JSON.stringify(c)}, bound ${bound}: same outcomes, no more schedules`, () => {
      const scenario = sharedCountersScenario(c);
      const full = exhaust(scenario, bound, false, countersOutcome);
      const reduced = exhaust(scenario, bound, true, countersOutcome);
      assert.deepEqual(reduced.outcomes, full.outcomes);
      assert.ok(reduced.schedules <= full.schedules);
      assert.equal(full.prunedBranches + full.prunedRuns, 0);
      if (bound === Infinity) assert.ok(reduced.schedules < full.schedules);
    });
  }
}

test("sleep sets cut 3 tasks incrementing 3 counters to one schedule out of 34650", () => {
  const scenario = sharedCountersScenario({ tasks: 3, counters: 3, work: 1 });
  const full = exhaust(scenario, Infinity, false, countersOutcome);
  const reduced = exhaust(scenario, Infinity, true, countersOutcome);
  assert.equal(full.schedules, 34650); // 9!/(3!)^3 interleavings of three 3-step tasks
  assert.equal(reduced.schedules, 1);
  assert.deepEqual(reduced.outcomes, full.outcomes);
});

test("explore with sleep sets finds the lost update in fewer schedules and reports the pruning", () => {
  const scenario = sharedCountersScenario({ tasks: 3, counters: 1, work: 1 });
  const base = { strategy: "dfs", schedules: 100_000, preemptionBound: 2 } as const;
  const none = explore(scenario, { ...base, reduction: "none" });
  const sleep = explore(scenario, { ...base, reduction: "sleep-sets" });
  for (const r of [none, sleep]) {
    assert.equal(r.found, true);
    assert.equal(r.firstFailure?.violation.kind, "lost_update");
  }
  const all = { ...base, stopAtFirst: false };
  const noneAll = explore(scenario, { ...all, reduction: "none" });
  const sleepAll = explore(scenario, { ...all, reduction: "sleep-sets" });
  assert.equal(noneAll.exhausted, true);
  assert.equal(sleepAll.exhausted, true);
  assert.ok((sleepAll.distinctSchedules ?? 0) < (noneAll.distinctSchedules ?? 0));
  assert.ok((sleepAll.prunedBranches ?? 0) > 0);
  assert.equal(noneAll.prunedBranches, 0);
});

/**
 * Straight-line declared tasks, one op per step: "w" private work, "x0"/"x1" an
 * update of x0/x1 under touch(), "L" an update of `locked` under mutex m (no touch:
 * every access holds m, so the recorded lock orders them), "W" wait until the flag is
 * set, "S" set the flag and wake the waiters, "B" block until woken, "K" wake the next
 * task (no touch: the kernel records whose run state block and wake touch). Updates
 * do not commute.
 */
function programScenario(program: readonly (readonly string[])[]): Scenario {
  return {
    name: "program",
    description: `test program ${JSON.stringify(program)}`,
    build(ctx) {
      const k = new Kernel({ seed: ctx.seed, strategy: ctx.strategy });
      const state = { x0: 0, x1: 0, locked: 0, flag: false };
      programFinals.set(k, state);
      const m = new Mutex(k, "m");
      const waiters: Task[] = [];
      const tasks: Task[] = [];
      const mix = (v: number, i: number) => (v * 3 + i + 1) % 1000;
      program.forEach((ops, i) => {
        const task = k.spawn(`t${i}`, toyGroup, function* (self): KGen {
          for (const op of ops) {
            if (op === "x0" || op === "x1") {
              k.touch(op);
              state[op] = mix(state[op], i);
            } else if (op === "L") {
              yield* m.lock();
              state.locked = mix(state.locked, i);
              yield "critical section";
              m.unlock();
            } else if (op === "W") {
              k.touch("flag");
              if (!state.flag) {
                waiters.push(self);
                k.block({ describe: () => "flag" });
              }
            } else if (op === "S") {
              k.touch("flag");
              state.flag = true;
              for (const w of waiters.splice(0)) k.wake(w);
            } else if (op === "B") {
              k.block({ describe: () => "a wake-up" });
            } else if (op === "K") {
              k.wake(tasks[(i + 1) % tasks.length] as Task);
            }
            yield op;
          }
        });
        k.declareFootprint(task);
        tasks.push(task);
      });
      return k;
    },
  };
}
const programFinals = new WeakMap<Kernel, object>();
const programOutcome = (run: ReturnType<typeof runScenario>) =>
  JSON.stringify([programFinals.get(run.kernel), run.violations.map((v) => v.kind)]);

test("under a preemption bound, sleep sets keep every outcome (naive sleep sets lose some here)", () => {
  // At bound 0, putting the first branch to sleep although the bound cut its subtree
  // reaches 2 of this program's 6 outcomes: the equivalent schedules it relies on
  // need preemptions the bound forbids.
  const scenario = programScenario([["w", "w", "x0"], ["x0", "x0", "w"], ["x0"]]);
  for (const bound of [0, 1, 2]) {
    const full = exhaust(scenario, bound, false, programOutcome);
    const reduced = exhaust(scenario, bound, true, programOutcome);
    assert.deepEqual(reduced.outcomes, full.outcomes, `bound ${bound}`);
  }
});

const OPS = ["w", "x0", "x1", "L", "W", "S", "B", "K"];

test("sleep sets keep the orders that only the kernel's own records tell apart", () => {
  // Lock contention (whether the second locker finds m free) and a wake-up racing a
  // block: neither program touches a key, so each pair is ordered only by what the
  // kernel records (locks held, the run state of a blocking or woken task).
  for (const program of [
    [["L"], ["L", "L"]],
    [["B", "x0"], ["K"]],
  ]) {
    const scenario = programScenario(program);
    for (const bound of [1, 2, Infinity]) {
      const full = exhaust(scenario, bound, false, programOutcome);
      const reduced = exhaust(scenario, bound, true, programOutcome);
      assert.deepEqual(reduced.outcomes, full.outcomes, `${JSON.stringify(program)} ${bound}`);
    }
  }
});

test("random programs: sleep sets reach exactly the unreduced outcomes under bounds 0, 1, 2 (and none)", () => {
  const rng = new Prng(7);
  let saved = 0;
  for (let n = 0; n < 30; n++) {
    const program = Array.from({ length: 2 + rng.nextInt(2) }, () =>
      Array.from({ length: 1 + rng.nextInt(2) }, () => OPS[rng.nextInt(OPS.length)] as string),
    );
    const scenario = programScenario(program);
    // Unbounded, three tasks with locks have too many schedules for a unit test.
    const bounds = program.length === 2 ? [0, 1, 2, Infinity] : [0, 1, 2];
    for (const bound of bounds) {
      const full = exhaust(scenario, bound, false, programOutcome);
      const reduced = exhaust(scenario, bound, true, programOutcome);
      const what = `${JSON.stringify(program)} bound ${bound}`;
      assert.deepEqual(reduced.outcomes, full.outcomes, what);
      assert.ok(reduced.schedules <= full.schedules, what);
      saved += full.schedules - reduced.schedules;
    }
  }
  assert.ok(saved > 0);
});

/** lost-wakeup with declared footprints: the flag, the sleeper slot, block and wake. */
const declaredLostWakeup: Scenario = {
  name: "declared-lost-wakeup",
  description: "test lost-wakeup with declared footprints",
  build(ctx) {
    const k = new Kernel({ seed: ctx.seed, strategy: ctx.strategy });
    let done = false;
    let sleeper: Task | null = null;
    const waiter = k.spawn("waiter", toyGroup, function* (self): KGen {
      k.touch("done");
      if (!done) {
        yield "test done: false";
        k.touch("sleeper");
        sleeper = self;
        k.block({ describe: () => "event done" });
        yield "schedule()";
      }
    });
    const waker = k.spawn("waker", toyGroup, function* (): KGen {
      yield "work";
      k.touch("done");
      done = true;
      yield "set done";
      k.touch("sleeper");
      if (sleeper !== null) k.wake(sleeper);
      yield "wake sleeper";
    });
    k.declareFootprint(waiter);
    k.declareFootprint(waker);
    return k;
  },
};

test("sleep sets keep the lost wake-up among declared tasks: found with one preemption, never without", () => {
  const kinds = (run: ReturnType<typeof runScenario>) =>
    run.violations.map((v) => v.kind).join(",");
  for (const bound of [0, 1, 2, Infinity]) {
    const full = exhaust(declaredLostWakeup, bound, false, kinds);
    const reduced = exhaust(declaredLostWakeup, bound, true, kinds);
    assert.deepEqual(reduced.outcomes, full.outcomes, `bound ${bound}`);
    assert.equal(reduced.outcomes.includes("deadlock"), bound >= 1, `bound ${bound}`);
  }
});

for (const id of ["classic-mr-before-umem", "unmap-no-dirty"]) {
  test(`catalog ${id}: DFS with sleep sets still finds it from the scenario`, () => {
    // Catalog tasks declare no footprints, so every step is opaque and the reduced
    // search must take exactly the unreduced one's path to the bug.
    const entry = CATALOG.find((e) => e.id === id);
    assert.ok(entry !== undefined);
    const options = {
      strategy: "dfs",
      schedules: 2000,
      preemptionBound: 1,
      design: entry.design,
      defects: [entry.id],
    } as const;
    const none = explore(entry.scenario, { ...options, reduction: "none" });
    const sleep = explore(entry.scenario, { ...options, reduction: "sleep-sets" });
    assert.equal(sleep.found, true);
    assert.equal(sleep.firstFailure?.violation.kind, entry.expected);
    assert.equal(sleep.schedulesToFind, none.schedulesToFind);
  });
}
