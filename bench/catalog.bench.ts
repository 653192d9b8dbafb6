/**
 * The catalog as a benchmark: how fast the explorer finds each historical bug, and PCT
 * beside uniform random.
 *
 * Time and schedules to find: one search per entry from seed 0 (uniform random, at most
 * 20,000 schedules), as `odpsim catalog check` runs it. PCT against random: a single
 * search is one sample of a geometric-like variable, too noisy to compare by, so each
 * strategy searches TRIALS independent seed ranges and the means are compared. A search
 * that finds nothing within the budget counts as the budget (so the mean is a lower
 * bound for that entry). `catalog.mean_schedules_pct.<id>` shows each entry's pair.
 */
import type { BenchResult } from "./result.ts";
import { CATALOG, entryDefects, type CatalogEntry } from "../src/check/catalog/catalog.ts";
import { explore, type StrategyName } from "../src/check/explore.ts";

const BUDGET = 20_000;
const TRIALS = 5;
/** Trial t searches seeds t·TRIAL_STRIDE onwards: ranges that never overlap. */
const TRIAL_STRIDE = 1_000_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

interface Find {
  readonly schedules: number;
  readonly seconds: number;
}

function find(entry: CatalogEntry, strategy: StrategyName, seed: number): Find {
  const t0 = performance.now();
  const r = explore(entry.scenario, {
    strategy,
    schedules: BUDGET,
    seed,
    design: entry.design,
    defects: entryDefects(entry),
  });
  const seconds = (performance.now() - t0) / 1000;
  return { schedules: r.schedulesToFind ?? BUDGET, seconds };
}

/** Mean schedules to find over TRIALS seed ranges (trial 0 is the seed-0 search). */
function meanSchedules(entry: CatalogEntry, strategy: StrategyName, first: Find): number {
  let total = first.schedules;
  for (let t = 1; t < TRIALS; t++) total += find(entry, strategy, t * TRIAL_STRIDE).schedules;
  return total / TRIALS;
}

// eslint-disable-next-line @typescript-eslint/require-await -- the suite interface is async
export async function catalogBenchmarks(): Promise<BenchResult[]> {
  const random = CATALOG.map((e) => find(e, "random", 0));
  const pct = CATALOG.map((e) => find(e, "pct", 0));
  const found = random.filter((f) => f.schedules < BUDGET).length;
  const randomMeans = CATALOG.map((e, i) => meanSchedules(e, "random", random[i] as Find));
  const pctMeans = CATALOG.map((e, i) => meanSchedules(e, "pct", pct[i] as Find));
  const share = (better: (p: number, r: number) => boolean): number =>
    pctMeans.filter((p, i) => better(p, randomMeans[i] as number)).length / CATALOG.length;
  return [
    { id: "catalog.entries_found", value: found, unit: `of ${CATALOG.length}` },
    {
      id: "catalog.median_seconds_to_find",
      value: median(random.map((f) => f.seconds)),
      unit: "s",
    },
    {
      id: "catalog.median_schedules_to_find",
      value: median(random.map((f) => f.schedules)),
      unit: "schedules",
    },
    {
      id: "catalog.median_schedules_to_find.pct",
      value: median(pct.map((f) => f.schedules)),
      unit: "schedules",
    },
    {
      id: "catalog.pct_vs_random_5x_share",
      value: share((p, r) => p * 5 <= r),
      unit: `share of entries, means over ${TRIALS} seed ranges`,
    },
    {
      id: "catalog.pct_better_share",
      value: share((p, r) => p < r),
      unit: `share of entries, means over ${TRIALS} seed ranges`,
    },
    // Per entry: PCT's mean against random's (the baseline); ratio < 1 means PCT wins.
    ...CATALOG.map((e, i) => ({
      id: `catalog.mean_schedules_pct.${e.id}`,
      value: pctMeans[i] as number,
      unit: "schedules",
      baseline: randomMeans[i] as number,
      ratio: (pctMeans[i] as number) / (randomMeans[i] as number),
    })),
  ];
}
