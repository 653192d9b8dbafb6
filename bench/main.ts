/**
 * `npm run bench [-- --json] [-- --filter PREFIX]`: runs the benchmark suites and
 * prints a table for people, or one JSON object `{"results": [...]}` on stdout.
 */
import { parseArgs } from "node:util";
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

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: { json: { type: "boolean", default: false }, filter: { type: "string" } },
    }));
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    return 2;
  }
  const filter = values.filter ?? "";
  const chosen = suites.filter((s) => s.prefix.startsWith(filter) || filter.startsWith(s.prefix));
  if (chosen.length === 0) {
    process.stderr.write(`bench: no suite matches --filter ${filter}\n`);
    return 2;
  }
  const results: BenchResult[] = [];
  for (const suite of chosen) {
    if (!values.json) process.stderr.write(`running ${suite.prefix}* ...\n`);
    results.push(...(await suite.run()).filter((r) => r.id.startsWith(filter)));
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ results })}\n`);
  } else {
    const width = Math.max(...results.map((r) => r.id.length));
    for (const r of results) process.stdout.write(`${r.id.padEnd(width)}  ${formatValue(r)}\n`);
  }
  return 0;
}

process.exitCode = await main();
