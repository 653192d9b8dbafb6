/**
 * The catalog as a benchmark: how fast the explorer finds each historical bug, PCT
 * beside uniform random on the same seed range (every search from seed 0, at most
 * 20,000 schedules).
 */
import type { BenchResult } from "./result.ts";
import { CATALOG, entryDefects } from "../src/check/catalog/catalog.ts";
import { explore, type StrategyName } from "../src/check/explore.ts";

const BUDGET = 20_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

interface Find {
  readonly schedules: number;
  readonly seconds: number;
}

function find(entry: (typeof CATALOG)[number], strategy: StrategyName): Find {
  const t0 = performance.now();
  const r = explore(entry.scenario, {
    strategy,
    schedules: BUDGET,
    design: entry.design,
    defects: entryDefects(entry),
  });
  const seconds = (performance.now() - t0) / 1000;
  return { schedules: r.schedulesToFind ?? Number.POSITIVE_INFINITY, seconds };
}

// eslint-disable-next-line @typescript-eslint/require-await -- the suite interface is async
export async function catalogBenchmarks(): Promise<BenchResult[]> {
  const random = CATALOG.map((e) => find(e, "random"));
  const pct = CATALOG.map((e) => find(e, "pct"));
  const found = random.filter((f) => Number.isFinite(f.schedules)).length;
  const pctBetter = CATALOG.filter((_, i) => {
    const r = random[i]?.schedules ?? Number.POSITIVE_INFINITY;
    const p = pct[i]?.schedules ?? Number.POSITIVE_INFINITY;
    return p * 5 <= r;
  }).length;
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
    { id: "catalog.pct_vs_random_5x_share", value: pctBetter / CATALOG.length, unit: "share" },
  ];
}
