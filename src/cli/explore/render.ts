/**
 * `odpsim explore`'s render step: the search's outcome as text or one JSON line. What it
 * says is the verdict's (check/verdict.ts): a violation with its report, an odpsim
 * internal error with its stack and token, runs cut off by the step bound, or no
 * violation; never "no violation" past an internal error or a cut-off run.
 *
 * Models no kernel file.
 */
import type {
  DfsReduction,
  ExploreFailure,
  ExploreInternalError,
  ExploreResult,
} from "../../check/explore.ts";
import { formatShard } from "../../check/shard.ts";
import { encodeToken, scenarioHash } from "../../check/token.ts";
import type { FailureArtifacts } from "../failureArtifacts.ts";
import { knownFindingLine } from "../knownFinding.ts";
import { out, printArtifactFiles } from "../output.ts";
import { reportJsonFields } from "../reportOptions.ts";
import type { ExploreOutcome } from "./outcome.ts";
import type { ExploreJob } from "./resolve.ts";

interface DfsSummary {
  readonly schedules: number;
  readonly exhausted: boolean;
  readonly preemptionBound: number;
  readonly reduction: DfsReduction;
  readonly prunedBranches: number;
  readonly prunedRuns: number;
}

/**
 * The fields every JSON answer carries: the verdict, how much was searched, and the
 * search itself (what makes two answers parts of the same search).
 */
function summaryJson(job: ExploreJob, r: ExploreResult, seconds: number) {
  const o = job.options;
  return {
    verdict: r.verdict,
    found: r.found,
    schedulesRun: r.schedulesRun,
    inconclusive: r.inconclusiveIndices.length,
    inconclusiveIndices: r.inconclusiveIndices,
    seconds: Number(seconds.toFixed(3)),
    search: {
      scenario: job.scenario.name,
      scenarioHash: scenarioHash(job.scenario),
      ...(job.scenario.file === undefined ? {} : { file: job.scenario.file }),
      design: o.design,
      defects: o.defects,
      strategy: r.strategy,
      timing: r.timing,
      seed: r.seed,
      schedules: o.schedules,
      faults: o.faults ?? null,
      ...(r.strategy === "pct" ? { pctDepth: o.pctDepth } : {}),
    },
    ...shardOf(job),
    ...dfsSummary(job, r),
  };
}

/**
 * The search's answer as `explore --json` prints it (one object; `odpsim merge` reads
 * these back): the summary, and the failure or the internal error the search stopped at.
 */
export function exploreJson(job: ExploreJob, outcome: ExploreOutcome): Record<string, unknown> {
  const { result: r, seconds, failure } = outcome;
  const error = r.firstInternalError;
  if (r.verdict === "internal_error" && error !== null) {
    return { ...summaryJson(job, r, seconds), internalError: internalErrorJson(job, error) };
  }
  if (failure === null) return summaryJson(job, r, seconds);
  const { art } = failure;
  return {
    ...summaryJson(job, r, seconds),
    schedulesToFind: r.schedulesToFind,
    index: failure.failure.index,
    seed: failure.failure.seed,
    violation: failure.failure.violation,
    ...reportJsonFields(art.report, art.raceReport),
    depth: art.depth,
    token: art.token,
  };
}

/** The search's answer as text. */
export function renderExplore(job: ExploreJob, outcome: ExploreOutcome): void {
  const { result: r, failure } = outcome;
  const error = r.firstInternalError;
  if (r.verdict === "internal_error" && error !== null) renderInternalError(job, error);
  else if (failure !== null) renderFailure(job, r, failure.failure, failure.art);
  else renderNoViolation(job, r);
}

/** No violation: clean, or inconclusive when runs hit the step bound. */
function renderNoViolation(job: ExploreJob, r: ExploreResult): void {
  const dfs = dfsSummary(job, r).dfs;
  const cut = r.inconclusiveIndices.length;
  if (cut > 0) {
    out(`inconclusive: no violation in ${r.schedulesRun} schedules, but ${inconclusiveLine(r)}`);
  } else {
    out(`no violation in ${r.schedulesRun} schedules (${r.strategy}, ${r.timing} timing)`);
  }
  if (dfs !== undefined) out(dfsLine(dfs));
}

/** The first failure: its report and how to rerun, replay and view it. */
function renderFailure(
  job: ExploreJob,
  r: ExploreResult,
  failure: ExploreFailure,
  art: FailureArtifacts,
): void {
  out(art.report);
  out();
  const known = knownFindingLine(job.options.design, job.options.defects, failure.violation);
  if (known !== null) out(known);
  if (r.inconclusiveIndices.length > 0) out(`note: ${inconclusiveLine(r)}`);
  const rerun = rerunLine(job, failure);
  if (rerun !== null) out(`rerun:  ${rerun}`);
  out(`replay: odpsim replay ${art.token}`);
  if (art.files !== null) printArtifactFiles(art.files);
}

/** The replay token of the run that ended in an internal error. */
function internalErrorToken(job: ExploreJob, error: ExploreInternalError): string {
  const { strategy, design, defects, faults, timing } = job.options;
  return encodeToken(job.scenario, {
    seed: error.seed,
    schedule: error.schedule,
    strategy,
    timing,
    design,
    defects,
    ...(faults === undefined ? {} : { faults }),
  });
}

function internalErrorJson(job: ExploreJob, error: ExploreInternalError) {
  const token = internalErrorToken(job, error);
  return { index: error.index, seed: error.seed, ...error.error, token };
}

/** An odpsim internal error: the search stopped there; nothing it ran says "clean". */
function renderInternalError(job: ExploreJob, error: ExploreInternalError): void {
  const token = internalErrorToken(job, error);
  const where = `schedule ${error.index} (seed ${error.seed}), step ${error.error.step}`;
  out(`odpsim internal error in ${where}, task ${error.error.task ?? "-"}: ${error.error.message}`);
  out("This is a bug in odpsim, not a finding about the design; the search stopped here.");
  if (error.error.stack !== undefined) out(error.error.stack);
  out();
  out(`replay: odpsim replay ${token}`);
}

/** How many runs the step bound cut off, and what to do about it. */
function inconclusiveLine(r: ExploreResult): string {
  const cut = r.inconclusiveIndices;
  const first = cut[0] ?? 0;
  return (
    `${cut.length} of them hit the step bound and judge nothing (the first: schedule ` +
    `${first}); raise maxSteps in the scenario file, or look for a task that never stops ` +
    "(a livelock)"
  );
}

/** `odpsim run ...` with every option the search used, or null when run cannot redo it. */
function rerunLine(job: ExploreJob, failure: ExploreFailure): string | null {
  const { strategy, design, defects, faults, timing } = job.options;
  if (job.source === "catalog" || strategy !== "random" || faults !== undefined) return null;
  const defectFlags = defects.map((d) => ` --defect ${d}`).join("");
  return (
    `odpsim run ${job.name} --seed ${failure.seed} --design ${design}${defectFlags} ` +
    `--timing ${timing} --trace trace.json`
  );
}

function shardOf(job: ExploreJob): { shard?: string } {
  return job.shard === undefined ? {} : { shard: formatShard(job.shard) };
}

/** A DFS's coverage: how many schedules, whether that was all under the bound. */
function dfsSummary(job: ExploreJob, r: ExploreResult): { dfs?: DfsSummary } {
  if (r.strategy !== "dfs") return {};
  return {
    dfs: {
      schedules: r.distinctSchedules ?? 0,
      exhausted: r.exhausted ?? false,
      preemptionBound: job.options.preemptionBound,
      reduction: job.options.reduction,
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
