/**
 * Systematic search that exhausts a small scenario, with and without sleep sets: the
 * toy shared-counters scenario (3 tasks, each one private step then an unlocked
 * increment of one of 2 counters, footprints declared), searched to exhaustion with no
 * preemption bound and with a bound of 2, reporting the schedules each search runs,
 * the time, and what sleep sets pruned. Unbounded, the unreduced count is the
 * 9!/(3!)^3 = 34650 interleavings.
 */
import { explore, type DfsReduction, type ExploreResult } from "../src/check/explore.ts";
import { sharedCountersScenario } from "../src/check/toy/sharedCounters.ts";
import type { BenchResult } from "./result.ts";

const scenario = sharedCountersScenario({ tasks: 3, counters: 2, work: 1 });

function exhaust(bound: number, reduction: DfsReduction): { r: ExploreResult; seconds: number } {
  const t0 = performance.now();
  const r = explore(scenario, {
    strategy: "dfs",
    schedules: 1_000_000,
    preemptionBound: bound,
    reduction,
    stopAtFirst: false,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (r.exhausted !== true) throw new Error(`DFS (${reduction}) did not exhaust ${scenario.name}`);
  return { r, seconds };
}

function figures(tag: string, bound: number): BenchResult[] {
  const none = exhaust(bound, "none");
  const sleep = exhaust(bound, "sleep-sets");
  const id = `explore.dfs_exhaust.${tag}`;
  const count = (x: { r: ExploreResult }) => x.r.distinctSchedules ?? 0;
  return [
    { id: `${id}.schedules_none`, value: count(none), unit: "schedules" },
    {
      id: `${id}.schedules_sleep_sets`,
      value: count(sleep),
      unit: "schedules",
      baseline: count(none),
      ratio: count(sleep) / count(none),
    },
    { id: `${id}.pruned_branches`, value: sleep.r.prunedBranches ?? 0, unit: "branches" },
    { id: `${id}.pruned_runs`, value: sleep.r.prunedRuns ?? 0, unit: "runs" },
    { id: `${id}.seconds_none`, value: none.seconds, unit: "s" },
    {
      id: `${id}.seconds_sleep_sets`,
      value: sleep.seconds,
      unit: "s",
      baseline: none.seconds,
      ratio: sleep.seconds / none.seconds,
    },
  ];
}

export function dfsBenchmarks(): Promise<BenchResult[]> {
  return Promise.resolve([...figures("unbounded", Infinity), ...figures("pb2", 2)]);
}
