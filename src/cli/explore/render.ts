/**
 * `odpsim explore`'s render step: the search's outcome as text or one JSON line.
 *
 * Models no kernel file.
 */
import type { DfsReduction, ExploreFailure, ExploreResult } from "../../check/explore.ts";
import { formatShard } from "../../check/shard.ts";
import type { FailureArtifacts } from "../failureArtifacts.ts";
import { out, printArtifactFiles } from "../output.ts";
import type { ExploreJob } from "./resolve.ts";

interface DfsSummary {
  readonly schedules: number;
  readonly exhausted: boolean;
  readonly preemptionBound: number;
  readonly reduction: DfsReduction;
  readonly prunedBranches: number;
  readonly prunedRuns: number;
}

/** No violation in the schedules run. */
export function renderClean(job: ExploreJob, r: ExploreResult, json: boolean): void {
  const dfs = dfsSummary(job, r);
  if (json) {
    out(JSON.stringify({ found: false, schedulesRun: r.schedulesRun, ...shardOf(job), ...dfs }));
    return;
  }
  out(`no violation in ${r.schedulesRun} schedules`);
  if (dfs.dfs !== undefined) out(dfsLine(dfs.dfs));
}

/** The first failure: its report and how to rerun, replay and view it. */
export function renderFailure(
  job: ExploreJob,
  r: ExploreResult,
  failure: ExploreFailure,
  art: FailureArtifacts,
  json: boolean,
): void {
  if (json) {
    out(
      JSON.stringify({
        found: true,
        schedulesToFind: r.schedulesToFind,
        index: failure.index,
        seed: failure.seed,
        ...shardOf(job),
        violation: failure.violation,
        depth: art.depth,
        token: art.token,
        ...dfsSummary(job, r),
      }),
    );
    return;
  }
  out(art.report);
  out();
  if (job.isFile && job.options.strategy === "random")
    out(
      `rerun:  odpsim run ${job.name} --seed ${failure.seed} --timing ${failure.timing} --trace trace.json`,
    );
  out(`replay: odpsim replay ${art.token}`);
  if (art.files !== null) printArtifactFiles(art.files);
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
