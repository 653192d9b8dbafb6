/**
 * Shared timing for benchmarks: tinybench runs each function for a while and we take
 * the median latency, which is steadier than the mean on a noisy machine. Wall-clock
 * time is allowed here and only here: benchmarks measure the simulator, they are not
 * part of a simulated run.
 */
import { Bench } from "tinybench";

export interface Measured {
  readonly name: string;
  /** Median milliseconds per call. */
  readonly medianMs: number;
}

/** Times each function (all in one Bench, so they share the same machine state). */
export async function measure(
  fns: Readonly<Record<string, () => void>>,
  timeMs = 1500,
): Promise<Map<string, Measured>> {
  const bench = new Bench({ time: timeMs, warmupTime: 200 });
  for (const [name, fn] of Object.entries(fns)) bench.add(name, fn);
  await bench.run();
  const out = new Map<string, Measured>();
  for (const task of bench.tasks) {
    const result = task.result;
    if (result.state !== "completed") {
      throw new Error(`benchmark ${task.name} did not complete: ${result.state}`);
    }
    out.set(task.name, { name: task.name, medianMs: result.latency.p50 });
  }
  return out;
}

/** Units per second for `units` done in one call that took `medianMs`. */
export function perSecond(units: number, m: Measured | undefined): number {
  if (m === undefined) throw new Error("missing measurement");
  return units / (m.medianMs / 1000);
}
