/**
 * The benchmark suites and their runner, shared by `npm run bench` (bench/main.ts) and
 * `odpsim bench`: a table for people on stdout, or one JSON object `{"results": [...]}`.
 *
 * Each suite runs in a fresh node process (suiteMain.ts): in one process, what earlier
 * suites left in the heap and the JIT's type feedback changed later figures (the small
 * catalog scenarios ran at 4,194 schedules/s after the other suites and 11,535 alone).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { BenchResult, BenchSuite } from "./result.ts";
import { catalogBenchmarks } from "./catalog.bench.ts";
import { clusterBenchmarks } from "./cluster.bench.ts";
import { exploreBenchmarks } from "./explore.bench.ts";
import { fuzzBenchmarks } from "./fuzz.bench.ts";
import { dfsBenchmarks } from "./dfs.bench.ts";
import { implicitSparseBenchmarks } from "./implicitSparse.bench.ts";
import { itreeBenchmarks } from "./itree.bench.ts";
import { mmBenchmarks } from "./mm.bench.ts";
import { nicBenchmarks } from "./nic.bench.ts";
import { notifierBenchmarks } from "./notifier.bench.ts";
import { reportBenchmarks } from "./report.bench.ts";
import { scenarioSizeBenchmarks } from "./scenarioSize.bench.ts";
import { simBenchmarks } from "./sim.bench.ts";
import { soakBenchmarks } from "./soak.bench.ts";
import { timingBenchmarks } from "./timing.bench.ts";

export const SUITES: readonly BenchSuite[] = [
  { name: "sim", prefix: "sim.", run: simBenchmarks },
  { name: "itree", prefix: "itree.", run: itreeBenchmarks },
  { name: "mm", prefix: "mm.", run: mmBenchmarks },
  { name: "notifier", prefix: "mm.", run: notifierBenchmarks },
  { name: "explore", prefix: "explore.", run: exploreBenchmarks },
  { name: "dfs", prefix: "explore.", run: dfsBenchmarks },
  { name: "timing", prefix: "explore.timing", run: timingBenchmarks },
  { name: "catalog", prefix: "catalog.", run: catalogBenchmarks },
  { name: "report", prefix: "report.", run: reportBenchmarks },
  { name: "nic", prefix: "nic.", run: nicBenchmarks },
  { name: "implicitSparse", prefix: "nic.", run: implicitSparseBenchmarks },
  { name: "cluster", prefix: "cluster.", run: clusterBenchmarks },
  { name: "fuzz", prefix: "fuzz.", run: fuzzBenchmarks },
  { name: "soak", prefix: "soak.", run: soakBenchmarks },
  { name: "scenarioSize", prefix: "scenario.", run: scenarioSizeBenchmarks },
];

const SUITE_MAIN = fileURLToPath(new URL("./suiteMain.ts", import.meta.url));

/** Runs `suite` in a child node process with this process's flags; its results. */
function runInChild(suite: BenchSuite): BenchResult[] {
  // --expose-gc: memory figures collect garbage before they measure.
  const args = ["--single-threaded-gc", "--expose-gc", "--import", "tsx", SUITE_MAIN, suite.name];
  const r = spawnSync(process.execPath, args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`bench suite ${suite.name} exited with ${r.status}`);
  return (JSON.parse(r.stdout) as { results: BenchResult[] }).results;
}

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

/**
 * The suites whose ids `filter` can match: those under it, or, for a filter inside a
 * prefix, the suites of the longest such prefix (`explore.timing` is the timing suite's
 * alone, not every `explore.` suite's).
 */
function suitesFor(filter: string): BenchSuite[] {
  const under = SUITES.filter((s) => s.prefix.startsWith(filter));
  if (under.length > 0) return under;
  const inside = SUITES.filter((s) => filter.startsWith(s.prefix));
  const longest = Math.max(0, ...inside.map((s) => s.prefix.length));
  return inside.filter((s) => s.prefix.length === longest);
}

/** Runs the suites `filter` selects; 0, or 2 when no suite matches. */
// eslint-disable-next-line @typescript-eslint/require-await -- callers await it
export async function runBenchmarks(options: BenchOptions = {}): Promise<number> {
  const filter = options.filter ?? "";
  const chosen = suitesFor(filter);
  if (chosen.length === 0) {
    process.stderr.write(`bench: no suite matches --filter ${filter}\n`);
    return 2;
  }
  const results: BenchResult[] = [];
  for (const suite of chosen) {
    if (options.json !== true) process.stderr.write(`running ${suite.prefix}* ...\n`);
    results.push(...runInChild(suite).filter((r) => r.id.startsWith(filter)));
  }
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify({ results })}\n`);
  } else {
    const width = Math.max(...results.map((r) => r.id.length));
    for (const r of results) process.stdout.write(`${r.id.padEnd(width)}  ${formatValue(r)}\n`);
  }
  return 0;
}
