/**
 * The simulation kernel at work, before any memory or RDMA model sits on it: the
 * textbook lost update, run under several seeds with and without a mutex, and the
 * lock-order inversion lockdep finds in a run that never deadlocked.
 *
 * Models no kernel file; it is what `odpsim demo` shows until the catalog exists.
 */
import pc from "picocolors";
import { Kernel } from "../sim/kernel.ts";
import { FirstRunnable } from "../sim/strategies/firstRunnable.ts";
import { Mutex } from "../sim/sync/mutex.ts";
import { RwSemaphore } from "../sim/sync/rwsem.ts";
import type { KGen } from "../sim/task.ts";

export interface LostUpdateRun {
  readonly seed: number;
  readonly counter: number;
  readonly steps: number;
  readonly order: string;
}

/** Two threads each add 1 to a shared counter: load, preemption point, store. */
export function runLostUpdate(seed: number, locked: boolean): LostUpdateRun {
  const k = new Kernel({ seed, trace: true });
  const lock = new Mutex(k, "counter_lock");
  let counter = 0;
  for (const name of ["A", "B"]) {
    k.spawn(name, { kind: "process", name: "demo" }, function* (): KGen {
      if (locked) yield* lock.lock();
      const seen = counter;
      k.event("load", { counter: seen });
      yield "load";
      counter = seen + 1;
      k.event("store", { counter });
      if (locked) lock.unlock();
    });
  }
  const result = k.run();
  const order = (result.trace?.entries ?? [])
    .filter((e) => e.kind === "event")
    .map((e) => `${e.task === 0 ? "A" : "B"}:${e.label}`)
    .join(" ");
  return { seed, counter, steps: result.steps, order };
}

/** mmap_lock -> umap_lock in one task, umap_lock -> mmap_lock later in another. */
export function runInversion(): string {
  const k = new Kernel({ strategy: new FirstRunnable() });
  const mmapLock = new RwSemaphore(k, "mmap_lock");
  const umapLock = new Mutex(k, "umap_lock");
  const group = { kind: "process", name: "demo" } as const;
  k.spawn("disassociate", group, function* (): KGen {
    yield* mmapLock.downWrite();
    yield* umapLock.lock();
    umapLock.unlock();
    mmapLock.upWrite();
  });
  k.spawn("vma_close", group, function* (): KGen {
    yield* k.sleep(1_000);
    yield* umapLock.lock();
    yield* mmapLock.downRead();
    mmapLock.upRead();
    umapLock.unlock();
  });
  const v = k.run().violations[0];
  if (v === undefined) return "no violation (unexpected)";
  const details = v.details as { newChain: string; existingChain: string[] };
  return [
    v.message,
    `  new:      ${details.newChain}`,
    ...details.existingChain.map((c) => `  earlier:  ${c}`),
  ].join("\n");
}

/** Prints the demo; returns the process exit code. */
export function kernelDemo(out: (line: string) => void, seeds = 8): number {
  out(pc.bold("odpsim: the simulation kernel at work"));
  out("");
  for (const locked of [false, true]) {
    out(
      pc.bold(
        locked ? "With counter_lock held:" : "Without a lock (a lost update waits to happen):",
      ),
    );
    for (let seed = 0; seed < seeds; seed++) {
      const run = runLostUpdate(seed, locked);
      const verdict = run.counter === 2 ? pc.green("counter=2") : pc.red("counter=1 LOST UPDATE");
      out(`  seed ${seed}: ${verdict}  ${pc.dim(run.order)}`);
    }
  }
  out("");
  out(pc.bold("Lockdep on a run that did not deadlock:"));
  out(runInversion());
  return 0;
}
