/**
 * The benchmark suites and their runner, shared by `npm run bench` (bench/main.ts) and
 * `odpsim bench`: a table for people on stdout, or one JSON object `{"results": [...]}`.
 */
import type { BenchResult, BenchSuite } from "./result.ts";
import { catalogBenchmarks } from "./catalog.bench.ts";
import { exploreBenchmarks } from "./explore.bench.ts";
import { dfsBenchmarks } from "./dfs.bench.ts";
import { implicitSparseBenchmarks } from "./implicitSparse.bench.ts";
import { itreeBenchmarks } from "./itree.bench.ts";
import { mmBenchmarks } from "./mm.bench.ts";
import { nicBenchmarks } from "./nic.bench.ts";
import { notifierBenchmarks } from "./notifier.bench.ts";
import { simBenchmarks } from "./sim.bench.ts";

const suites: BenchSuite[] = [
  { prefix: "sim.", run: simBenchmarks },
  { prefix: "itree.", run: itreeBenchmarks },
  { prefix: "mm.", run: mmBenchmarks },
  { prefix: "mm.", run: notifierBenchmarks },
  { prefix: "explore.", run: exploreBenchmarks },
  { prefix: "explore.", run: dfsBenchmarks },
  { prefix: "catalog.", run: catalogBenchmarks },
  { prefix: "nic.", run: nicBenchmarks },
  { prefix: "nic.", run: implicitSparseBenchmarks },
];

function formatValue(r: BenchResult): string {
  const v = r.value >= 100 ? Math.round(r.value).toLocaleString("en-US") : r.value.toFixed(3);
  const vs = r.ratio === undefined ? "" : `  (${r.ratio.toFixed(2)}x baseline)`;
  return `${v} ${r.unit}${vs}`;
}

export interface BenchOptions {
  /** Only results whose id starts with this. */
  readonly filter?: string;
  readonly json?: boolean;
}

/** Runs the suites `filter` selects; 0, or 2 when no suite matches. */
export async function runBenchmarks(options: BenchOptions = {}): Promise<number> {
  const filter = options.filter ?? "";
  const chosen = suites.filter((s) => s.prefix.startsWith(filter) || filter.startsWith(s.prefix));
  if (chosen.length === 0) {
    process.stderr.write(`bench: no suite matches --filter ${filter}\n`);
    return 2;
  }
  const results: BenchResult[] = [];
  for (const suite of chosen) {
    if (options.json !== true) process.stderr.write(`running ${suite.prefix}* ...\n`);
    results.push(...(await suite.run()).filter((r) => r.id.startsWith(filter)));
  }
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify({ results })}\n`);
  } else {
    const width = Math.max(...results.map((r) => r.id.length));
    for (const r of results) process.stdout.write(`${r.id.padEnd(width)}  ${formatValue(r)}\n`);
  }
  return 0;
}
