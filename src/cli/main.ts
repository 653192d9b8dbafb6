/**
 * The odpsim command line. Exit codes: 0 clean, 1 a violation was found, 2 bad usage or
 * input. Errors are one clear line on stderr, never a stack trace.
 *
 * Models no kernel file.
 */
import { Command, CommanderError, InvalidArgumentError } from "commander";
import pc from "picocolors";
import { CATALOG, catalogScenarios, entryDefects, withEra } from "../check/catalog/catalog.ts";
import { catalogCheck } from "../check/catalog/catalogCheck.ts";
import { MLX5_DESIGNS } from "../check/catalog/scenarios/odpHost.ts";
import type { Scenario } from "../check/scenario.ts";
import {
  explore,
  type ExploreOptions,
  type ExploreResult,
  type DfsReduction,
  type StrategyName,
} from "../check/explore.ts";
import { exploreParallel } from "../check/parallel.ts";
import { PCT_DEFAULT_DEPTH } from "../check/strategies/pct.ts";
import type { ScenarioRef } from "../check/scenarioRef.ts";
import { formatShard, parseShard, ShardSpecError, type Shard } from "../check/shard.ts";
import { resolve } from "node:path";
import { FAULT_SITES, type FaultPlan } from "../check/faults.ts";
import { TokenError, decodeToken, replayToken, type ScenarioLookup } from "../check/token.ts";
import { writeFileSync } from "node:fs";
import { serializeChromeTrace, toChromeTrace } from "../output/perfetto.ts";
import { loadScenario, type CompiledScenario } from "../scenario/compile.ts";
import { ScenarioError } from "../scenario/errors.ts";
import { checkOverrides, effectiveConfig, renderRunReport, runOnce } from "../scenario/runOnce.ts";
import { failureArtifacts, type FailureArtifacts } from "./failureArtifacts.ts";
import { reportFormatOption, reportJsonFields, type ReportOptions } from "./reportOptions.ts";
import type { ReportFormat } from "../check/renderReport.ts";
import { viewCommand } from "./view.ts";

export const EXIT_OK = 0;
export const EXIT_VIOLATION = 1;
export const EXIT_USAGE = 2;

/** A usage error: printed as one line, exit 2. */
class UsageError extends Error {}

/** The width of the defect-id column: the longest catalog id. */
const ID_WIDTH = Math.max(...CATALOG.map((e) => e.id.length));

const out = (line = ""): void => {
  process.stdout.write(`${line}\n`);
};

function intOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        `${name} must be an integer in [${min}, ${max}], got "${value}"`,
      );
    }
    return n;
  };
}

function strategyOption(value: string): StrategyName {
  if (value === "random" || value === "pct" || value === "dfs") return value;
  throw new InvalidArgumentError(`--strategy must be random, pct or dfs, got "${value}"`);
}

function reductionOption(value: string): DfsReduction {
  if (value === "sleep-sets" || value === "none") return value;
  throw new InvalidArgumentError(`--reduction must be sleep-sets or none, got "${value}"`);
}

function rateOption(value: string): number {
  const p = Number(value);
  if (!(p > 0 && p <= 1))
    throw new InvalidArgumentError(`--fault-rate must be in (0, 1], got "${value}"`);
  return p;
}

function shardOption(value: string): Shard {
  try {
    return parseShard(value);
  } catch (error) {
    if (error instanceof ShardSpecError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * A progress bar on stderr, drawn only when stderr is a terminal (so pipes, CI logs and
 * JSON output stay clean); cleared when done.
 */
function progressBar(label: string): (done: number, total: number) => void {
  const tty = process.stderr.isTTY;
  return (done, total) => {
    if (!tty) return;
    const width = 30;
    const filled = Math.round((width * done) / total);
    const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
    process.stderr.write(done < total ? `\r${label} [${bar}] ${done}/${total}` : "\r\x1b[K");
  };
}

function catalogTable(): void {
  for (const e of CATALOG)
    out(
      `${String(e.number).padStart(2)}  ${e.id.padEnd(ID_WIDTH)} ${e.design.padEnd(10)} ${e.title}`,
    );
}

interface CheckOpts {
  readonly json: boolean;
  readonly budget: number;
  readonly workers: number;
}

async function runCatalogCheck(opts: CheckOpts): Promise<number> {
  const result = await catalogCheck(CATALOG, {
    budget: opts.budget,
    workers: opts.workers,
    onEntry: progressBar("catalog check"),
  });
  const ok = result.entries.every((e) => e.found && e.fixedViolations === 0);
  if (opts.json) {
    out(JSON.stringify(result));
  } else {
    for (const e of result.entries) {
      const verdict = e.found ? pc.green("found") : pc.red("NOT FOUND");
      const fixed =
        e.fixedViolations === 0 ? pc.green("clean") : pc.red(`${e.fixedViolations} violations`);
      out(
        `${e.id.padEnd(ID_WIDTH)} ${verdict} after ${e.schedulesToFind ?? "-"} schedules ` +
          `(${e.secondsToFind?.toFixed(3) ?? "-"} s, depth ${e.depth ?? "-"}, ${e.violation ?? "-"}); ` +
          `fixed: ${fixed} in ${e.fixedSchedules}`,
      );
    }
    out(`${Math.round(result.schedulesPerSecond)} schedules/s`);
  }
  return ok ? EXIT_OK : EXIT_VIOLATION;
}

async function runDemo(budget: number): Promise<number> {
  out(pc.bold("odpsim demo: the catalog of real ODP bugs, found by the explorer"));
  out();
  const result = await catalogCheck(CATALOG, { budget, onEntry: progressBar("catalog") });
  out(
    `${"defect".padEnd(ID_WIDTH)} ${"found after".padEnd(16)} ${"seconds".padEnd(8)} depth  fixed design`,
  );
  for (const e of result.entries) {
    const found = e.found ? `${e.schedulesToFind} schedules` : pc.red("not found");
    const fixed =
      e.fixedViolations === 0
        ? pc.green(`clean in ${e.fixedSchedules}`)
        : pc.red(`${e.fixedViolations} bad`);
    out(
      `${e.id.padEnd(ID_WIDTH)} ${found.padEnd(16)} ${(e.secondsToFind?.toFixed(3) ?? "-").padEnd(8)} ${String(e.depth ?? "-").padEnd(6)} ${fixed}`,
    );
  }
  out(`(${Math.round(result.schedulesPerSecond)} schedules/s; budget ${budget} per search)`);
  const first = CATALOG[0];
  if (first === undefined) return EXIT_OK;
  const found = explore(first.scenario, {
    strategy: "random",
    schedules: budget,
    defects: entryDefects(first),
    design: first.design,
  });
  if (found.firstFailure === null) return EXIT_VIOLATION;
  const art = failureArtifacts(
    {
      scenario: first.scenario,
      seed: found.firstFailure.seed,
      timing: found.firstFailure.timing,
      schedule: found.firstFailure.schedule,
      strategy: "random",
      design: first.design,
      defects: entryDefects(first),
    },
    "odpsim-out",
  );
  out();
  out(pc.bold(`#${first.number} ${first.id}: ${first.title}`));
  out(art.report);
  out();
  out(`replay:   odpsim replay ${art.token}`);
  if (art.files !== null) printArtifactFiles(art.files);
  return result.entries.every((e) => e.found && e.fixedViolations === 0) ? EXIT_OK : EXIT_VIOLATION;
}

/** Where the failure's files went, and the command to open each. */
function printArtifactFiles(files: NonNullable<FailureArtifacts["files"]>): void {
  out(`report:   ${files.report}`);
  out(`perfetto: ${files.perfetto}  (open in https://ui.perfetto.dev)`);
  out(`viewer:   odpsim view ${files.runFile}`);
  out(`log:      ${files.log}`);
}

interface ExploreOpts {
  readonly design?: string;
  readonly defect: string[];
  readonly strategy: StrategyName;
  readonly schedules: number;
  readonly seed: number;
  readonly workers: number;
  readonly shard?: Shard;
  readonly json: boolean;
  readonly fault: string[];
  readonly faultRate?: number;
  readonly out?: string;
  readonly preemptionBound: number;
  readonly reduction: DfsReduction;
  readonly pctDepth: number;
  readonly full: boolean;
  readonly format: ReportFormat;
}

/** --fault values: known sites only. */
function faultPlanOf(opts: ExploreOpts): FaultPlan | undefined {
  if (opts.fault.length === 0) return undefined;
  const sites = opts.fault.map((f) => {
    const site = FAULT_SITES.find((s) => s === f);
    if (site === undefined) {
      throw new UsageError(`unknown fault site "${f}"; known: ${FAULT_SITES.join(", ")}`);
    }
    return site;
  });
  return opts.faultRate === undefined ? { sites } : { sites, probability: opts.faultRate };
}

/** The designs a catalog scenario runs under: its entries' and, for ODP, every mlx5 design. */
function designsOf(scenario: Scenario): string[] {
  const own = CATALOG.filter((e) => e.scenario === scenario).map((e) => e.design);
  const odp = own.some((d) => d in MLX5_DESIGNS) ? Object.keys(MLX5_DESIGNS) : [];
  return [...new Set([...own, ...odp])];
}

/** A scenario file rather than a catalog scenario name. */
function isScenarioFile(name: string): boolean {
  return /\.ya?ml$/i.test(name) || name.includes("/");
}

/** Where a worker thread finds the scenario: the catalog, or the scenario file. */
function scenarioRefOf(name: string, isFile: boolean): ScenarioRef {
  if (!isFile) {
    return {
      module: new URL("../check/catalog/catalog.ts", import.meta.url).href,
      exportName: name,
    };
  }
  return { module: new URL("./scenarioFiles.ts", import.meta.url).href, exportName: resolve(name) };
}

/** One process, one thread: the plain search; otherwise worker threads and/or a shard. */
async function exploreSearch(
  name: string,
  scenario: Scenario,
  isFile: boolean,
  options: ExploreOptions,
  opts: ExploreOpts,
): Promise<ExploreResult> {
  if (opts.workers === 1 && opts.shard === undefined) return explore(scenario, options);
  if (options.strategy === "dfs") {
    throw new UsageError("dfs is a sequential search: use one worker and no --shard");
  }
  return exploreParallel(scenarioRefOf(name, isFile), {
    ...options,
    workers: opts.workers,
    ...(opts.shard === undefined ? {} : { shard: opts.shard }),
  });
}

async function runExplore(name: string, opts: ExploreOpts): Promise<number> {
  const file: CompiledScenario | null = isScenarioFile(name) ? loadScenario(name) : null;
  const scenario = file ?? catalogScenarios().get(name);
  if (scenario === undefined) {
    throw new UsageError(
      `unknown scenario "${name}"; known: ${[...catalogScenarios().keys()].join(", ")} or a .yaml file`,
    );
  }
  const fileConfig = file === null ? null : effectiveConfig(file, opts.design, opts.defect);
  const defects = withEra(fileConfig?.defects ?? opts.defect);
  const design =
    fileConfig?.design ??
    opts.design ??
    CATALOG.find((e) => e.scenario === scenario)?.design ??
    "classic";
  const designs = file === null ? designsOf(scenario) : Object.keys(MLX5_DESIGNS);
  if (!designs.includes(design)) {
    throw new UsageError(
      `design "${design}" is not modelled for ${name}; try ${designs.join(", ")}`,
    );
  }
  const known = new Set(CATALOG.map((e) => e.id));
  for (const d of defects) if (!known.has(d)) throw new UsageError(`unknown defect "${d}"`);
  const faults = faultPlanOf(opts);
  const options: ExploreOptions = {
    strategy: opts.strategy,
    schedules: opts.schedules,
    seed: opts.seed,
    design,
    defects,
    preemptionBound: opts.preemptionBound,
    reduction: opts.reduction,
    pctDepth: opts.pctDepth,
    ...(faults === undefined ? {} : { faults }),
  };
  const r = await exploreSearch(name, scenario, file !== null, options, opts);
  const failure = r.firstFailure;
  const shard = opts.shard === undefined ? {} : { shard: formatShard(opts.shard) };
  const dfs = dfsSummary(r, opts);
  if (failure === null) {
    if (opts.json) {
      out(JSON.stringify({ found: false, schedulesRun: r.schedulesRun, ...shard, ...dfs }));
    } else {
      out(`no violation in ${r.schedulesRun} schedules`);
      if (dfs.dfs !== undefined) out(dfsLine(dfs.dfs));
    }
    return EXIT_OK;
  }
  const art = failureArtifacts(
    {
      scenario,
      seed: failure.seed,
      timing: failure.timing,
      schedule: failure.schedule,
      strategy: opts.strategy,
      design,
      defects,
      ...(faults === undefined ? {} : { faults }),
    },
    opts.out ?? null,
    opts,
  );
  if (opts.json) {
    out(
      JSON.stringify({
        found: true,
        schedulesToFind: r.schedulesToFind,
        index: failure.index,
        seed: failure.seed,
        ...shard,
        violation: failure.violation,
        ...reportJsonFields(art.report, art.raceReport),
        depth: art.depth,
        token: art.token,
        ...dfs,
      }),
    );
  } else {
    out(art.report);
    out();
    if (file !== null && opts.strategy === "random")
      out(
        `rerun:  odpsim run ${name} --seed ${failure.seed} --timing ${failure.timing} --trace trace.json`,
      );
    out(`replay: odpsim replay ${art.token}`);
    if (art.files !== null) printArtifactFiles(art.files);
  }
  return EXIT_VIOLATION;
}

interface DfsSummary {
  readonly schedules: number;
  readonly exhausted: boolean;
  readonly preemptionBound: number;
  readonly reduction: DfsReduction;
  readonly prunedBranches: number;
  readonly prunedRuns: number;
}

/** A DFS's coverage: how many schedules, whether that was all under the bound. */
function dfsSummary(r: ExploreResult, opts: ExploreOpts): { dfs?: DfsSummary } {
  if (r.strategy !== "dfs") return {};
  return {
    dfs: {
      schedules: r.distinctSchedules ?? 0,
      exhausted: r.exhausted ?? false,
      preemptionBound: opts.preemptionBound,
      reduction: opts.reduction,
      prunedBranches: r.prunedBranches ?? 0,
      prunedRuns: r.prunedRuns ?? 0,
    },
  };
}

function dfsLine(d: DfsSummary): string {
  const space = d.exhausted ? "exhausted" : "not exhausted";
  const pruned =
    d.reduction === "none"
      ? "no reduction"
      : `sleep sets pruned ${d.prunedBranches} branches and ${d.prunedRuns} runs`;
  return `dfs: ${d.schedules} schedules; space under preemption bound ${d.preemptionBound} ${space}; ${pruned}`;
}

interface RunOpts {
  readonly design?: string;
  readonly defect: string[];
  readonly seed: number;
  readonly trace?: string;
  readonly json: boolean;
}

function runRun(file: string, opts: RunOpts): number {
  const problem = checkOverrides(opts.design, opts.defect);
  if (problem !== null) throw new UsageError(problem);
  const scenario = loadScenario(file);
  const { report, run } = runOnce(scenario, {
    seed: opts.seed,
    design: opts.design,
    defects: opts.defect,
    trace: opts.trace !== undefined,
  });
  out(opts.json ? JSON.stringify(report) : renderRunReport(report));
  const trace = run.result.trace;
  if (opts.trace !== undefined && trace !== null) {
    writeFileSync(opts.trace, serializeChromeTrace(toChromeTrace(trace, run.violations)));
    if (!opts.json) out(`trace written to ${opts.trace} (open it in https://ui.perfetto.dev)`);
  }
  return report.clean ? EXIT_OK : EXIT_VIOLATION;
}

/** Where a token's scenario is: the scenario file it names, else the catalog. */
function replayLookup(token: string): ScenarioLookup {
  const file = decodeToken(token).file;
  if (file === null) return catalogScenarios();
  const scenario = loadScenario(file);
  return (name) => (name === scenario.name ? scenario : undefined);
}

interface ReplayOpts extends ReportOptions {
  readonly trace?: string;
  readonly json: boolean;
}

function runReplay(token: string, opts: ReplayOpts): number {
  const { trace: traceFile, json } = opts;
  let replay;
  try {
    replay = replayToken(token, replayLookup(token));
  } catch (error) {
    if (error instanceof TokenError)
      throw new UsageError(`bad replay token (${error.reason}): ${error.message}`);
    throw error;
  }
  const data = replay.token;
  const art = failureArtifacts(
    {
      scenario: replay.scenario,
      seed: data.seed,
      timing: data.timing,
      schedule: Uint32Array.from(data.schedule),
      strategy: data.strategy,
      design: data.design ?? "classic",
      defects: data.defects,
      ...(data.faults === null ? {} : { faults: data.faults }),
      omit: data.omit,
    },
    null,
    opts,
  );
  const trace = replay.run.result.trace;
  if (traceFile !== undefined && trace !== null) {
    writeFileSync(traceFile, serializeChromeTrace(toChromeTrace(trace, replay.run.violations)));
  }
  if (json) {
    out(
      JSON.stringify({
        scenario: replay.scenario.name,
        traceHash: replay.traceHash,
        violations: replay.run.violations,
        depth: art.depth,
        ...reportJsonFields(art.report, art.raceReport),
      }),
    );
  } else {
    out(art.report);
    if (traceFile !== undefined) out(`trace written to ${traceFile}`);
  }
  return replay.run.violations.length > 0 ? EXIT_VIOLATION : EXIT_OK;
}

function buildProgram(setCode: (code: number) => void): Command {
  const program = new Command("odpsim")
    .description("Deterministic simulator and race explorer for Linux RDMA on-demand paging")
    .exitOverride()
    .enablePositionalOptions()
    .showHelpAfterError();
  program
    .command("demo")
    .description("the catalog check in a quick mode, then the first defect's report and files")
    .option("--budget <n>", "schedules per search", intOption("--budget", 1, 1_000_000), 1000)
    .addHelpText("after", "\nExample:\n  odpsim demo --budget 500")
    .action(async (o: { budget: number }) => {
      setCode(await runDemo(o.budget));
    });
  const catalog = program
    .command("catalog")
    .description("list the catalog of historical bugs")
    .option("--json", "print JSON", false)
    .action((o: { json: boolean }) => {
      if (o.json)
        out(
          JSON.stringify(
            CATALOG.map((e) => ({
              id: e.id,
              design: e.design,
              title: e.title,
              fix: e.fix,
              scenario: e.scenario.name,
            })),
          ),
        );
      else catalogTable();
    });
  catalog
    .command("check")
    .description("explore every entry with its defect on and off")
    .option("--json", "print JSON", false)
    .option("--budget <n>", "schedules per search", intOption("--budget", 1, 10_000_000), 20_000)
    .option("--workers <n>", "worker threads", intOption("--workers", 1, 64), 1)
    .addHelpText("after", "\nExample:\n  odpsim catalog check --budget 2000 --json")
    .action(async (o: CheckOpts) => {
      setCode(await runCatalogCheck(o));
    });
  program
    .command("explore <scenario>")
    .description("search interleavings of a scenario for a violation")
    .option("--design <d>", "classic | hmm-mirror | interval")
    .option("--defect <id>", "switch a catalog defect on (repeatable)", collect, [])
    .option("--strategy <s>", "random | pct | dfs", strategyOption, "random")
    .option("--schedules <n>", "schedules to try", intOption("--schedules", 1, 100_000_000), 20_000)
    .option("--seed <s>", "base seed", intOption("--seed", 0, Number.MAX_SAFE_INTEGER), 0)
    .option("--workers <n>", "worker threads", intOption("--workers", 1, 64), 1)
    .option("--shard <k/n>", "run shard k of n of the search (for a job array)", shardOption)
    .option(
      "--fault <site>",
      `inject faults at a site (repeatable): ${FAULT_SITES.join(", ")}`,
      collect,
      [],
    )
    .option("--fault-rate <p>", "chance that one visit of a site fails (default 0.05)", rateOption)
    .option("--out <dir>", "write the failure's report, Perfetto trace, run file and log there")
    .option(
      "--preemption-bound <n>",
      "dfs: preemptions allowed per schedule",
      intOption("--preemption-bound", 0, 1000),
      2,
    )
    .option("--reduction <r>", "dfs: sleep-sets | none", reductionOption, "sleep-sets")
    .option(
      "--pct-depth <d>",
      "pct: the bug depth searched for (d-1 priority change points)",
      intOption("--pct-depth", 1, 64),
      PCT_DEFAULT_DEPTH,
    )
    .option("--full", "report the whole run, not the causal slice", false)
    .option("--format <f>", "report format: text | kernel (72 columns)", reportFormatOption, "text")
    .option("--json", "print JSON", false)
    .addHelpText(
      "after",
      "\nExamples:\n  odpsim explore fault-vs-invalidate --defect classic-no-retry-check\n" +
        "  odpsim explore fault-vs-invalidate --defect classic-no-retry-check --format kernel\n" +
        "  odpsim explore fault-vs-invalidate --defect classic-no-retry-check --out odpsim-out\n" +
        "  odpsim explore fault-vs-invalidate --design interval --fault umr\n" +
        "  odpsim explore examples/10-catalog-no-retry-check.yaml --schedules 500",
    )
    .action(async (name: string, o: ExploreOpts) => {
      setCode(await runExplore(name, o));
    });
  program
    .command("run <scenario>")
    .description("run a scenario file once (uniform random schedule from the seed)")
    .option("--design <d>", "classic | hmm-mirror | interval (overrides the file's)")
    .option(
      "--defect <id>",
      "switch a catalog defect on (repeatable; overrides the file's)",
      collect,
      [],
    )
    .option("--seed <s>", "the run's seed", intOption("--seed", 0, Number.MAX_SAFE_INTEGER), 0)
    .option("--trace <file>", "also write a Perfetto trace of the run")
    .option("--json", "print JSON", false)
    .addHelpText(
      "after",
      "\nExamples:\n  odpsim run examples/01-explicit-fault-in.yaml\n" +
        "  odpsim run examples/10-catalog-no-retry-check.yaml --seed 7 --trace trace.json",
    )
    .action((file: string, o: RunOpts) => {
      setCode(runRun(file, o));
    });
  program
    .command("replay <token>")
    .description("replay a run from its token and print its report")
    .option("--trace <file>", "also write a Perfetto trace")
    .option("--full", "report the whole run, not the causal slice", false)
    .option("--format <f>", "report format: text | kernel (72 columns)", reportFormatOption, "text")
    .option("--json", "print JSON", false)
    .action((token: string, o: ReplayOpts) => {
      setCode(runReplay(token, o));
    });
  program
    .command("bench")
    .description("run the benchmark suites (as npm run bench; needs the dev dependencies)")
    .option("--filter <prefix>", "only benchmarks whose id starts with this (e.g. nic.)")
    .option("--json", "print JSON", false)
    .addHelpText("after", "\nExamples:\n  odpsim bench --filter sim.\n  odpsim bench --json")
    .action(async (o: { filter?: string; json: boolean }) => {
      setCode(await runBench(o));
    });
  program
    .command("view <file>")
    .description("serve the web viewer for a run file on 127.0.0.1")
    .option("--port <n>", "port (0 = any free port)", intOption("--port", 0, 65535), 0)
    .action(async (file: string, o: { port: number }) => {
      setCode(await viewCommand(file, { port: o.port }));
    });
  return program;
}

/** The benchmarks live beside the sources (bench/), loaded only when asked for. */
async function runBench(o: { filter?: string; json: boolean }): Promise<number> {
  const url = new URL("../../bench/run.ts", import.meta.url).href;
  const bench = (await import(url)) as {
    runBenchmarks(options: { filter?: string; json?: boolean }): Promise<number>;
  };
  return bench.runBenchmarks(o);
}

/** A reader that went away (`odpsim catalog | head`) ends the output, not the process. */
function ignoreClosedStdout(): void {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? EXIT_OK);
    throw error;
  });
}

export async function runCli(argv: readonly string[]): Promise<number> {
  ignoreClosedStdout();
  let code = EXIT_OK;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === "commander.helpDisplayed" || error.code === "commander.version"
        ? EXIT_OK
        : EXIT_USAGE;
    }
    if (error instanceof ScenarioError) {
      process.stderr.write(`${error.format()}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`odpsim: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
  return code;
}

process.exitCode = await runCli(process.argv.slice(2));
