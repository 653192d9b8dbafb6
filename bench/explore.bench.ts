/**
 * Explorer throughput: schedules per second on the catalog scenario fault-vs-invalidate
 * (classic design, about 110 steps and five tasks per run) under uniform random with one
 * worker thread and with two, timed from the moment every worker has loaded (thread
 * start-up is reported apart); the median over the small catalog scenarios with one
 * worker; and a DFS that exhausts 3 tasks x 3 steps (9!/(3!)^3 = 1680 schedules).
 */
import type { BenchResult } from "./result.ts";
import { CATALOG } from "../src/check/catalog/catalog.ts";
import { explore } from "../src/check/explore.ts";
import { exploreParallel, type ParallelResult } from "../src/check/parallel.ts";
import { interleavingsScenario } from "../src/check/toy/index.ts";
import { catalogScenarioRef } from "../src/check/catalog/scenarioRefs.ts";
import { faultVsInvalidate } from "../src/check/catalog/scenarios/faultVsInvalidate.ts";

const SCHEDULES = 30_000;
const REPEATS = 3;
/** The catalog's fault-vs-invalidate scenario (classic design, no defect: full budget). */
const ref = catalogScenarioRef(faultVsInvalidate);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function timed(workers: number): Promise<{ perSec: number; startupMs: number }> {
  const rates: number[] = [];
  const startups: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const r: ParallelResult = await exploreParallel(ref, {
      strategy: "random",
      schedules: SCHEDULES,
      seed: 0,
      stopAtFirst: false,
      design: "classic",
      workers,
    });
    if (r.schedulesRun !== SCHEDULES) throw new Error(`ran ${r.schedulesRun} schedules`);
    rates.push(SCHEDULES / (r.wallClock.searchMs / 1000));
    startups.push(r.wallClock.startupMs);
  }
  return { perSec: median(rates), startupMs: median(startups) };
}

/** A catalog scenario is "small" when its runs take at most this many steps. */
const SMALL_STEPS = 80;
const PER_SCENARIO = 2_000;

/**
 * Schedules per second of one worker (in this thread, after a warm-up) on each catalog
 * scenario whose longest run has at most SMALL_STEPS steps, fixed design: the median.
 */
function smallScenariosPerSec(): { median: number; scenarios: number } {
  const rates: number[] = [];
  const seen = new Set<string>();
  for (const entry of CATALOG) {
    if (seen.has(entry.scenario.name)) continue;
    seen.add(entry.scenario.name);
    const options = { strategy: "random", design: entry.design, stopAtFirst: false } as const;
    const probe = explore(entry.scenario, { ...options, schedules: 200, seed: 1_000_000 });
    if (probe.maxSteps > SMALL_STEPS) continue;
    const t0 = performance.now();
    const r = explore(entry.scenario, { ...options, schedules: PER_SCENARIO, seed: 0 });
    rates.push(r.schedulesRun / ((performance.now() - t0) / 1000));
  }
  return { median: median(rates), scenarios: rates.length };
}

export async function exploreBenchmarks(): Promise<BenchResult[]> {
  const small = smallScenariosPerSec();
  const w1 = await timed(1);
  const w2 = await timed(2);
  const t0 = performance.now();
  const dfs = explore(interleavingsScenario(3, 3), {
    strategy: "dfs",
    schedules: 100_000,
    preemptionBound: Infinity,
  });
  const dfsSeconds = (performance.now() - t0) / 1000;
  if (dfs.exhausted !== true) throw new Error("DFS did not exhaust 3x3");
  return [
    { id: "explore.schedules_per_sec.w1", value: w1.perSec, unit: "schedules/s" },
    {
      id: "explore.schedules_per_sec.w1.small_median",
      value: small.median,
      unit: `schedules/s (median of ${small.scenarios} catalog scenarios <= ${SMALL_STEPS} steps)`,
    },
    {
      id: "explore.schedules_per_sec.w2",
      value: w2.perSec,
      unit: "schedules/s",
      baseline: w1.perSec,
      ratio: w2.perSec / w1.perSec,
    },
    { id: "explore.worker_startup_ms.w2", value: w2.startupMs, unit: "ms" },
    { id: "explore.dfs_exhaust_schedules", value: dfs.distinctSchedules ?? 0, unit: "schedules" },
    { id: "explore.dfs_exhaust_seconds", value: dfsSeconds, unit: "s" },
  ];
}
