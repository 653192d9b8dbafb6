/**
 * Scheduler throughput: steps per second on N tasks doing plain yields and on N
 * tasks doing mutex lock/unlock, beside a bare generator loop that picks tasks at
 * random with the same PRNG (the floor any scheduler pays), with the ratio.
 */
import type { BenchResult } from "./result.ts";
import { measure, perSecond } from "./measure.ts";
import { Kernel } from "../src/sim/kernel.ts";
import { Prng } from "../src/sim/rng.ts";
import { Mutex } from "../src/sim/sync/mutex.ts";
import type { KGen } from "../src/sim/task.ts";

const TASKS = 8;
const YIELDS_PER_TASK = 25_000;
const PLAIN_STEPS = TASKS * YIELDS_PER_TASK;
const group = { kind: "process", name: "bench" } as const;

function* plainTask(n: number): KGen {
  for (let i = 0; i < n; i++) yield;
}

function simPlain(): number {
  const k = new Kernel({ seed: 1, maxSteps: Infinity });
  for (let t = 0; t < TASKS; t++) k.spawn(`t${t}`, group, () => plainTask(YIELDS_PER_TASK));
  return k.run().steps;
}

let mutexSteps = 0;
function simMutex(): number {
  const k = new Kernel({ seed: 1, maxSteps: Infinity });
  const m = new Mutex(k, "bench_lock");
  for (let t = 0; t < TASKS; t++) {
    k.spawn(`t${t}`, group, function* (): KGen {
      for (let i = 0; i < 2_000; i++) {
        yield* m.lock();
        yield;
        m.unlock();
      }
    });
  }
  mutexSteps = k.run().steps;
  return mutexSteps;
}

/** The same work with no scheduler: generators resumed in a random order. */
function bareLoop(): number {
  const rng = new Prng(1);
  const live: Generator[] = [];
  for (let t = 0; t < TASKS; t++) live.push(plainTask(YIELDS_PER_TASK));
  let steps = 0;
  while (live.length > 0) {
    const i = rng.nextInt(live.length);
    steps++;
    if ((live[i] as Generator).next().done === true) {
      live[i] = live[live.length - 1] as Generator;
      live.pop();
    }
  }
  return steps;
}

export async function simBenchmarks(): Promise<BenchResult[]> {
  if (simPlain() !== bareLoop()) throw new Error("sim and bare loop did different work");
  simMutex();
  const m = await measure({ plain: simPlain, mutex: simMutex, bare: bareLoop });
  const plain = perSecond(PLAIN_STEPS, m.get("plain"));
  const bare = perSecond(PLAIN_STEPS, m.get("bare"));
  const mutex = perSecond(mutexSteps, m.get("mutex"));
  return [
    { id: "sim.steps_per_sec", value: plain, unit: "steps/s", baseline: bare, ratio: plain / bare },
    { id: "sim.mutex_steps_per_sec", value: mutex, unit: "steps/s" },
    { id: "sim.bare_steps_per_sec", value: bare, unit: "steps/s" },
    { id: "sim.steps_ratio_vs_bare", value: plain / bare, unit: "x" },
  ];
}
