/**
 * `odpsim fuzz --design D [--defect ID ...] [--strategy blind|feedback] [--seconds S |
 * --programs N] [--seed X] [--workers N] [--shard k/n] [--fault SITE ...] [--keep-going]
 * [--json] [--out DIR]`: generate programs of the scenario language, explore each under a
 * few schedules, and stop at the first that breaks the model (src/scenario/fuzz/campaign.ts),
 * or with --keep-going go on and list every distinct failure by kind and site (soak.ts),
 * each one's first program shrunk and written.
 *
 * Models no kernel file. A failure is shrunk program first (campaign.ts), written to
 * DIR as a scenario file, loaded back from there, and its failing schedule shrunk by
 * the explorer's shrinker (failureArtifacts.ts), whose replay token names the file. The
 * file's header carries the violation, the token and the commands that reproduce it.
 * `--seconds` bounds the search by the wall clock, which decides only how many programs
 * run; `--programs` makes the whole result a function of the seed (and strategy).
 *
 * The feedback strategy's program i depends on the programs below it (feedback.ts), all
 * of which must run in one campaign, so it is refused with more than one worker or a
 * shard of more than one: its result is a function of the seed and budget on one worker.
 *
 * D may be a user's design module (`--design ./my-design.ts`, designModules.ts): it is
 * registered here and in each worker thread, the programs name it (`design:` holds its
 * path) and the failure file's "Run it" commands give `--design` to load it again; its
 * replay token records the module's path and source hash.
 */
import { InvalidArgumentError, type Command } from "commander";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withEra } from "../../check/catalog/catalog.ts";
import { FAULT_SITES, isFaultSite, type FaultSite } from "../../check/faults.ts";
import { formatShard, type Shard } from "../../check/shard.ts";
import { verdictOf } from "../../check/verdict.ts";
import { basename, extname } from "node:path";
import { MLX5_ODP_DESIGN_NAMES, mlx5OdpDesignProblem } from "../../rdma/mlx5/odp/designs.ts";
import { loadScenario } from "../../scenario/compile.ts";
import {
  DEFAULT_PROGRAM_SHRINKS,
  DEFAULT_SCHEDULES_PER_PROGRAM,
  type CampaignFailure,
  type CampaignResult,
} from "../../scenario/fuzz/campaign.ts";
import { fuzzProgram, FUZZ_TIMING } from "../../scenario/fuzz/fuzzProgram.ts";
import { runCampaignParallel } from "../../scenario/fuzz/parallelCampaign.ts";
import { scenarioText } from "../../scenario/fuzz/scenarioText.ts";
import type { SoakKey } from "../../scenario/fuzz/soak.ts";
import {
  DEFAULT_FUZZ_STRATEGY,
  FUZZ_STRATEGY_NAMES,
  fuzzStrategy,
  type FuzzStrategyName,
} from "../../scenario/fuzz/strategies.ts";
import { defectProblem } from "../../scenario/validate.ts";
import { designModuleWorkerSetup, isDesignModule, loadDesignModule } from "../designModules.ts";
import { exitCodeOf, type SetExitCode } from "../exitCodes.ts";
import { failureArtifacts } from "../failureArtifacts.ts";
import { collect, fuzzStrategyOption, intOption, shardOption } from "../options.ts";
import { shardFromEnvironment, ShardAutoError } from "../shardAuto.ts";
import { knownFindingLine } from "../knownFinding.ts";
import { out } from "../output.ts";
import { UsageError } from "../usageError.ts";

interface FuzzFlags {
  readonly design?: string;
  readonly defect: string[];
  readonly strategy: FuzzStrategyName;
  readonly seconds?: number;
  readonly programs?: number;
  readonly seed: number;
  readonly schedules: number;
  readonly workers: number;
  readonly shard?: Shard | "auto";
  readonly fault: string[];
  readonly keepGoing: boolean;
  readonly json: boolean;
  readonly out: string;
}

/** The program budget when neither --seconds nor --programs is given. */
const DEFAULT_PROGRAMS = 200;

function secondsOption(value: string): number {
  const s = Number(value);
  if (!(s > 0 && s <= 7 * 24 * 3600)) {
    throw new InvalidArgumentError(`--seconds must be a number in (0, 604800], got "${value}"`);
  }
  return s;
}

export function addFuzzCommand(program: Command, setCode: SetExitCode): void {
  program
    .command("fuzz")
    .description("generate scenario programs, explore each, stop at the first violation")
    .option(
      "--design <d>",
      `the design to fuzz: ${MLX5_ODP_DESIGN_NAMES.join(" | ")} | ./my-design.ts`,
    )
    .option(
      "--defect <id>",
      "switch a defect of the design on (repeatable; none: no defect)",
      collect,
      [],
    )
    .option(
      "--strategy <s>",
      `how programs are chosen: ${FUZZ_STRATEGY_NAMES.join(" | ")} (feedback mutates ` +
        "programs that reached new coverage; one worker, no shard)",
      fuzzStrategyOption,
      DEFAULT_FUZZ_STRATEGY,
    )
    .option(
      "--seconds <s>",
      "wall-clock budget (decides only how many programs run)",
      secondsOption,
    )
    .option(
      "--programs <n>",
      `program budget (default ${DEFAULT_PROGRAMS})`,
      intOption("--programs", 1, 1e9),
    )
    .option("--seed <x>", "base seed", intOption("--seed", 0, Number.MAX_SAFE_INTEGER), 0)
    .option(
      "--schedules <k>",
      "random schedules per program",
      intOption("--schedules", 1, 10_000),
      DEFAULT_SCHEDULES_PER_PROGRAM,
    )
    .option("--workers <n>", "worker threads", intOption("--workers", 1, 64), 1)
    .option("--shard <k/n>", "run shard k of n of the programs (for a job array)", shardOption)
    .option(
      "--fault <site>",
      `a fault site programs may enable (repeatable; ${FAULT_SITES.join(", ")}; none: no ` +
        "fault injection; default: all)",
      collect,
      [],
    )
    .option(
      "--keep-going",
      "go on after each failure and list every distinct one, each one's first program " +
        "shrunk and written to --out",
      false,
    )
    .option("--json", "print JSON", false)
    .option("--out <dir>", "where a failing program is written", "odpsim-out/fuzz")
    .addHelpText(
      "after",
      "\nExamples:\n  odpsim fuzz --design interval --seconds 60\n" +
        "  odpsim fuzz --design classic --defect classic-no-retry-check --programs 500\n" +
        "  odpsim fuzz --design hmm-mirror --programs 2000 --workers 2 --seed 7\n" +
        "  odpsim fuzz --design classic --programs 10000 --shard 3/8 --json\n" +
        "  odpsim fuzz --design interval --strategy feedback --programs 2000\n" +
        "  odpsim fuzz --design ./my-design.ts --defect my-defect --programs 500\n" +
        "  odpsim fuzz --design interval --fault alloc --fault process_kill --programs 500\n" +
        "  odpsim fuzz --design classic --programs 5000 --keep-going --workers 2\n" +
        "\nThe blind strategy gives the same first failure for a seed and --programs whatever\n" +
        "--workers and --shard are. Feedback's programs depend on the ones before them, so it\n" +
        "runs on one worker and no shard; there its result is a function of seed and budget.",
    )
    .action(async (o: FuzzFlags) => {
      setCode(await runFuzz(o));
    });
}

interface FuzzJob {
  readonly design: string;
  /** The design is a user's module (given again as --design to reproduce a failure). */
  readonly module: boolean;
  readonly defects: readonly string[];
  readonly shard: Shard;
  readonly programs: number | undefined;
  readonly seconds: number | undefined;
  /** The fault sites the swarm draws from (--fault); undefined: all. */
  readonly faultSites: readonly FaultSite[] | undefined;
}

/**
 * The design and defects the flags name, checked as a file's `design` / `defects` are; a
 * design module is loaded and registered first.
 */
async function resolveJob(flags: FuzzFlags): Promise<FuzzJob> {
  if (flags.design === undefined) {
    throw new UsageError(
      `fuzz needs --design (${MLX5_ODP_DESIGN_NAMES.join(", ")} or ./my-design.ts)`,
    );
  }
  const module = isDesignModule(flags.design);
  if (module) await loadDesignModule(flags.design);
  const problem = mlx5OdpDesignProblem(flags.design);
  if (problem !== null) throw new UsageError(`--design: ${problem}`);
  if (flags.seconds !== undefined && flags.programs !== undefined) {
    throw new UsageError("give --seconds or --programs, not both");
  }
  const named = flags.defect.filter((d) => d !== "none");
  for (const id of named) {
    const defect = defectProblem(id, flags.design);
    if (defect !== null) throw new UsageError(`--defect: ${defect}`);
  }
  const shard = shardOf(flags);
  const partitions = flags.workers * shard.count;
  if (fuzzStrategy(flags.strategy, {}).wantsCoverage && partitions > 1) {
    throw new UsageError(
      `--strategy ${flags.strategy} runs on one worker and no shard (its programs depend on ` +
        "the ones before them)",
    );
  }
  return {
    design: flags.design,
    module,
    defects: withEra(named),
    shard,
    programs: flags.seconds === undefined ? (flags.programs ?? DEFAULT_PROGRAMS) : undefined,
    seconds: flags.seconds,
    faultSites: swarmFaultSites(flags.fault),
  };
}

/** `--fault`: the sites named (none: no site), or undefined for every site. */
function swarmFaultSites(named: readonly string[]): readonly FaultSite[] | undefined {
  if (named.length === 0) return undefined;
  if (named.includes("none")) {
    if (named.length > 1) throw new UsageError("--fault none cannot be given with a site");
    return [];
  }
  for (const site of named) {
    if (!isFaultSite(site)) {
      throw new UsageError(
        `--fault: unknown fault site "${site}"; known: ${FAULT_SITES.join(", ")}, none`,
      );
    }
  }
  return [...new Set(named as FaultSite[])];
}

/** `--shard`: as given, or for `auto` this task's of the job array it runs in. */
function shardOf(flags: FuzzFlags): Shard {
  if (flags.shard !== "auto") return flags.shard ?? { index: 1, count: 1 };
  try {
    return shardFromEnvironment(process.env);
  } catch (error) {
    if (error instanceof ShardAutoError) throw new UsageError(error.message);
    throw error;
  }
}

async function runFuzz(flags: FuzzFlags): Promise<number> {
  const job = await resolveJob(flags);
  const { shard } = job;
  const started = Date.now();
  const progress = progressLine(flags, job);
  const r = await runCampaignParallel({
    design: job.design,
    defects: job.defects,
    strategy: flags.strategy,
    seed: flags.seed,
    schedules: flags.schedules,
    maxShrinks: DEFAULT_PROGRAM_SHRINKS,
    ...(job.faultSites === undefined ? {} : { swarm: { faultSites: job.faultSites } }),
    ...(job.programs === undefined ? {} : { programs: job.programs }),
    workers: flags.workers,
    shard,
    deadline: job.seconds === undefined ? null : started + job.seconds * 1000,
    ...(progress === null ? {} : { onProgress: progress }),
    ...(job.module ? { workerSetup: designModuleWorkerSetup(job.design) } : {}),
    keepGoing: flags.keepGoing,
  });
  if (progress !== null) process.stderr.write("\n");
  const written = r.failure === null ? null : writeFailure(r.failure, job, flags);
  const keys = (r.keys ?? []).map((k) => ({
    ...k,
    written: k.first === r.failure ? written : writeFailure(k.first, job, flags),
  }));
  const seconds = (Date.now() - started) / 1000;
  const failures =
    r.keys === null ? (r.failure === null ? [] : [r.failure]) : keys.map((k) => k.first);
  const verdict = verdictOf({
    internalError: failures.some((f) => f.type === "internal_error"),
    violation: failures.some((f) => f.type === "violation"),
    inconclusive: r.inconclusiveRuns > 0,
  });
  const summary = { verdict, seconds, job, flags, r, written, keys: r.keys === null ? null : keys };
  if (flags.json) out(JSON.stringify(jsonOf(summary), null, 2));
  else renderText(summary);
  return exitCodeOf(verdict);
}

/** Progress on a terminal only: never on a pipe, in CI or with --json. */
function progressLine(flags: FuzzFlags, job: FuzzJob): ((n: number) => void) | null {
  if (flags.json || !process.stderr.isTTY || process.env.CI !== undefined) return null;
  const of = job.programs === undefined ? `${job.seconds ?? 0} s` : `${job.programs}`;
  const start = Date.now();
  return (n) => {
    const s = (Date.now() - start) / 1000;
    process.stderr.write(
      `\rfuzz: ${n} programs (budget ${of}), ${(n / Math.max(s, 0.001)).toFixed(1)}/s, ${s.toFixed(0)} s`,
    );
  };
}

interface Written {
  readonly file: string;
  readonly token: string | null;
  readonly runSeed: number | null;
  readonly report: string | null;
  readonly preemptions: number | null;
}

/** The failing program as a scenario file in --out, its schedule shrunk, its token. */
function writeFailure(f: CampaignFailure, job: FuzzJob, flags: FuzzFlags): Written {
  mkdirSync(flags.out, { recursive: true });
  const kind = f.key.split(/[ :]/)[0] ?? "failure";
  const slug = designSlug(job);
  const file = join(flags.out, `fuzz-${slug}-${kind}-seed${flags.seed}-p${f.program}.yaml`);
  const spec = { ...f.shrunk, name: `fuzz-${slug}-p${f.program}` };
  writeFileSync(file, scenarioText(spec));
  const scenario = loadScenario(file);
  const result = fuzzProgram(scenario, { seed: f.programSeed, schedules: flags.schedules });
  let token: string | null = null;
  let report: string | null = null;
  let preemptions: number | null = null;
  if (result.outcome.type === "violation" && result.schedule !== null && result.runSeed !== null) {
    const art = failureArtifacts(
      {
        scenario,
        seed: result.runSeed,
        schedule: result.schedule,
        strategy: "random",
        timing: FUZZ_TIMING,
        design: job.design,
        defects: job.defects,
        ...(spec.faults === undefined ? {} : { faults: spec.faults }),
      },
      null,
    );
    token = art.token;
    report = art.report;
    preemptions = art.depth;
  }
  const header = headerOf(f, job, flags, file, result.runSeed, token);
  writeFileSync(file, scenarioText(spec, header));
  return { file, token, runSeed: result.runSeed, report, preemptions };
}

/** The design as a file name part: a module's base name without its extension. */
function designSlug(job: FuzzJob): string {
  if (!job.module) return job.design;
  const base = basename(job.design, extname(job.design)).replace(/[^A-Za-z0-9_.-]/g, "_");
  return /^[A-Za-z_]/.test(base) ? base : `_${base}`;
}

/**
 * The command line that finds `f` again (the header's "Found by"): every flag that
 * decides which programs are drawn and how each is judged, where it is not the default
 * — the design, the defects named (their era comes with them), the strategy, the seed,
 * the schedules per program, the fault sites, the shard, the program budget, and
 * --keep-going (a later failure's first program is found only by going on). --workers
 * changes no result (campaign.ts) and --json and --out only where it is told, so they
 * are left out. A --seconds budget is given as the programs it took to reach `f`
 * (--programs f.program+1), as the wall clock decides only how many programs run.
 */
function fuzzCommandLine(job: FuzzJob, flags: FuzzFlags, f: CampaignFailure): string {
  const args = ["odpsim", "fuzz", "--design", job.design];
  for (const d of new Set(flags.defect.filter((d) => d !== "none"))) args.push("--defect", d);
  if (flags.strategy !== DEFAULT_FUZZ_STRATEGY) args.push("--strategy", flags.strategy);
  if (flags.seed !== 0) args.push("--seed", String(flags.seed));
  if (flags.schedules !== DEFAULT_SCHEDULES_PER_PROGRAM) {
    args.push("--schedules", String(flags.schedules));
  }
  const sites = job.faultSites;
  if (sites !== undefined) {
    if (sites.length === 0) args.push("--fault", "none");
    for (const x of sites) args.push("--fault", x);
  }
  if (job.shard.count !== 1) args.push("--shard", formatShard(job.shard));
  const programs = job.programs ?? f.program + 1;
  if (programs !== DEFAULT_PROGRAMS) args.push("--programs", String(programs));
  if (flags.keepGoing) args.push("--keep-going");
  return args.join(" ");
}

function headerOf(
  f: CampaignFailure,
  job: FuzzJob,
  flags: FuzzFlags,
  file: string,
  runSeed: number | null,
  token: string | null,
): string[] {
  // A scenario file names a module design by its path; run and explore load it by --design.
  const load = job.module ? ` --design ${job.design}` : "";
  return [
    `${f.type === "internal_error" ? "odpsim internal error" : "violation"}: ${f.key}`,
    ...f.message
      .split("\n")
      .slice(0, 8)
      .map((l) => `  ${l}`),
    "",
    `Found by: ${fuzzCommandLine(job, flags, f)} (program ${f.program}, ${f.origin}),`,
    `shrunk from ${countOps(f.original)} to ${countOps(f.shrunk)} operations in ${f.shrinkRuns} candidates.`,
    ...(runSeed === null
      ? []
      : [`Run it: odpsim run ${file}${load} --timing free --seed ${runSeed}`]),
    `Explore it: odpsim explore ${file}${load} --strategy random`,
    ...(token === null ? [] : [`Replay the shrunk schedule: odpsim replay ${token}`]),
  ];
}

function countOps(spec: CampaignFailure["shrunk"]): number {
  return spec.processes.reduce(
    (n, p) => n + (p.threads ?? []).reduce((m, t) => m + t.ops.length, 0),
    0,
  );
}

interface Summary {
  readonly verdict: string;
  readonly seconds: number;
  readonly job: FuzzJob;
  readonly flags: FuzzFlags;
  readonly r: CampaignResult;
  readonly written: Written | null;
  /** --keep-going: every distinct failure, its first program written. */
  readonly keys: readonly WrittenKey[] | null;
}

interface WrittenKey extends SoakKey {
  readonly written: Written | null;
}

/** The known-finding line of a violation, if it is a documented finding. */
function knownLine(f: CampaignFailure, job: FuzzJob, brief = false): string | null {
  if (f.type !== "violation") return null;
  const kind = f.key.split(" at ")[0] ?? "";
  return knownFindingLine(job.design, job.defects, { kind, message: f.message }, brief);
}

function jsonOf(s: Summary) {
  const f = s.r.failure;
  return {
    verdict: s.verdict,
    found: f !== null,
    seconds: s.seconds,
    programsRun: s.r.programsRun,
    schedulesRun: s.r.schedulesRun,
    programsToFind: f === null ? null : f.program + 1,
    programOnly: s.r.programOnly,
    inconclusiveRuns: s.r.inconclusiveRuns,
    search: {
      design: s.job.design,
      designModule: s.job.module,
      defects: s.job.defects,
      strategy: s.flags.strategy,
      seed: s.flags.seed,
      schedulesPerProgram: s.flags.schedules,
      programs: s.job.programs ?? null,
      budgetSeconds: s.job.seconds ?? null,
      workers: s.flags.workers,
      shard: formatShard(s.job.shard),
      faultSites: s.job.faultSites ?? FAULT_SITES,
    },
    failure:
      f === null
        ? null
        : {
            type: f.type,
            key: f.key,
            message: f.message,
            program: f.program,
            programSeed: f.programSeed,
            origin: f.origin,
            shrinkRuns: f.shrinkRuns,
            file: s.written?.file ?? null,
            runSeed: s.written?.runSeed ?? null,
            token: s.written?.token ?? null,
            preemptions: s.written?.preemptions ?? null,
          },
    failures:
      s.keys === null
        ? null
        : s.keys.map((k) => ({
            type: k.first.type,
            key: k.key,
            count: k.count,
            program: k.first.program,
            message: k.first.message,
            known: knownLine(k.first, s.job),
            file: k.written?.file ?? null,
            token: k.written?.token ?? null,
          })),
  };
}

/** --keep-going: a line per distinct failure, with its known finding and file. */
function renderKeys(keys: readonly WrittenKey[], job: FuzzJob): void {
  const programs = keys.reduce((n, k) => n + k.count, 0);
  out(`${programs} failing programs, ${keys.length} distinct failures (by kind and site):`);
  for (const k of keys) {
    out(`  ${String(k.count).padStart(5)}x  first program ${k.first.program}: ${k.key}`);
    const known = knownLine(k.first, job, true);
    if (known !== null) out(`          ${known}`);
    if (k.written !== null) out(`          written to ${k.written.file}`);
  }
  out("the first of them:");
}

function renderText(s: Summary): void {
  const { r, job } = s;
  const defects = job.defects.length === 0 ? "no defects" : `defects ${job.defects.join(", ")}`;
  out(
    `fuzz ${job.design} (${defects}), ${s.flags.strategy}, seed ${s.flags.seed}: ` +
      `${r.programsRun} programs, ` +
      `${r.schedulesRun} schedules in ${s.seconds.toFixed(1)} s`,
  );
  if (r.inconclusiveRuns > 0)
    out(`  ${r.inconclusiveRuns} runs hit the step bound and judge nothing`);
  if (s.keys !== null && s.keys.length > 0) renderKeys(s.keys, job);
  const f = r.failure;
  if (f === null) {
    out(
      s.verdict === "clean" ? "no violation found" : "no violation found; inconclusive runs above",
    );
    return;
  }
  out(
    `${f.type === "internal_error" ? "INTERNAL ERROR" : "violation"} in program ${f.program}: ${f.key}`,
  );
  out(`  ${f.message.split("\n")[0] ?? ""}`);
  const known = knownLine(f, job);
  if (known !== null) out(known);
  if (s.written !== null) {
    out(`program written to ${s.written.file}`);
    if (s.written.report !== null) out(`\n${s.written.report}`);
    if (s.written.token !== null) out(`\nreplay: odpsim replay ${s.written.token}`);
  }
}
