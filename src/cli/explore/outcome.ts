/**
 * `odpsim explore`'s outcome step: the search, timed, and for a failure everything
 * written about it (shrunk schedule, report, token, files). Render prints it as text or
 * as the JSON answer that `odpsim merge` combines.
 *
 * Models no kernel file.
 */
import type { ExploreFailure, ExploreResult } from "../../check/explore.ts";
import { failureArtifacts, type FailureArtifacts } from "../failureArtifacts.ts";
import type { ReportOptions } from "../reportOptions.ts";
import type { ExploreJob } from "./resolve.ts";
import { searchExplore } from "./search.ts";

export interface ExploreOutcome {
  readonly result: ExploreResult;
  /** Wall-clock seconds of the search. */
  readonly seconds: number;
  /** The failure the search stopped at and its artifacts; null when it found none. */
  readonly failure: { readonly failure: ExploreFailure; readonly art: FailureArtifacts } | null;
}

/**
 * Runs `job`; `outDir` is where a failure's files go (null: nowhere); `onProgress`
 * hears the schedules run so far.
 */
export async function exploreOutcome(
  job: ExploreJob,
  report: ReportOptions,
  outDir: string | null,
  onProgress?: (schedulesRun: number) => void,
): Promise<ExploreOutcome> {
  const started = performance.now();
  const result = await searchExplore(job, onProgress);
  const seconds = (performance.now() - started) / 1000;
  const failure = result.verdict === "internal_error" ? null : result.firstFailure;
  if (failure === null) return { result, seconds, failure: null };
  const { strategy, design, defects, faults, timing } = job.options;
  const art = failureArtifacts(
    {
      scenario: job.scenario,
      seed: failure.seed,
      schedule: failure.schedule,
      strategy,
      timing,
      design,
      defects,
      ...(faults === undefined ? {} : { faults }),
    },
    outDir,
    report,
  );
  return { result, seconds, failure: { failure, art } };
}
