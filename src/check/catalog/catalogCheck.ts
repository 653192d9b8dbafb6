/**
 * `odpsim catalog check`: explore each entry's scenario with its defect on, then with it
 * off, on the same schedule budget.
 *
 * Models no kernel file. Wall-clock time is read here only to report how long a search
 * took; it never enters a run. An entry passes only when the buggy search found its bug
 * and the fixed search's verdict is clean: an internal error or a run cut off by the step
 * bound in either is never reported as found or clean (verdict.ts).
 */
import { performance } from "node:perf_hooks";
import { explore, type ExploreOptions, type ExploreResult, type StrategyName } from "../explore.ts";
import { findingOf } from "./findings.ts";
import type { Timing } from "../../sim/timing.ts";
import type { Verdict } from "../verdict.ts";
import { exploreParallel } from "../parallel.ts";
import type { Scenario } from "../scenario.ts";
import { catalogScenarioRef } from "./scenarioRefs.ts";
import { shrink } from "../shrink.ts";
import { entryDefects, showsEntry, type CatalogEntry } from "./catalog.ts";

export interface CatalogCheckOptions {
  /** Schedules per search. Default 20,000. */
  readonly budget?: number;
  readonly strategy?: StrategyName;
  readonly seed?: number;
  /** Default free (the explorer's). */
  readonly timing?: Timing;
  /** Worker threads per search. Default 1 (in this thread). */
  readonly workers?: number;
  /** Called after each entry (progress bars). */
  readonly onEntry?: (done: number, total: number) => void;
}

export interface CatalogCheckEntry {
  readonly id: string;
  readonly found: boolean;
  readonly schedulesToFind: number | null;
  readonly secondsToFind: number | null;
  readonly violation: string | null;
  /** Preemptions the shrunk failing schedule needs, or null. */
  readonly depth: number | null;
  readonly fixedSchedules: number;
  readonly fixedViolations: number;
  /** Fixed runs that show a documented finding of the design (findings.ts), by finding. */
  readonly fixedFindings: Readonly<Record<string, number>>;
  /** Fixed runs whose violation no finding explains: these fail the entry. */
  readonly fixedUnexplained: number;
  /** The verdicts of the two searches (an internal error or a cut-off run shows here). */
  readonly buggyVerdict: Verdict;
  readonly fixedVerdict: Verdict;
  /** The first odpsim internal error either search hit, or null. */
  readonly internalError: string | null;
}

/** What is wrong with an entry's fixed design, in a few words. */
export function fixedProblem(e: CatalogCheckEntry): string {
  if (e.fixedVerdict === "internal_error") return "odpsim internal error";
  if (e.fixedVerdict === "inconclusive") return "inconclusive (runs hit the step bound)";
  return `${e.fixedUnexplained} unexplained violations`;
}

/** The fixed design's outcome in a few words: clean, clean but for findings, or the problem. */
export function fixedSummary(e: CatalogCheckEntry): { ok: boolean; text: string } {
  const findings = fixedFindingsLine(e);
  if (!entryPassedFixed(e)) return { ok: false, text: fixedProblem(e) };
  return { ok: true, text: findings === "" ? "clean" : `clean but for findings ${findings}` };
}

function entryPassedFixed(e: CatalogCheckEntry): boolean {
  const judged = e.fixedVerdict === "clean" || e.fixedVerdict === "violation";
  return judged && e.fixedUnexplained === 0;
}

/** The documented findings the fixed runs showed, as `id x n`, or "". */
export function fixedFindingsLine(e: CatalogCheckEntry): string {
  return Object.entries(e.fixedFindings)
    .map(([id, n]) => `${id} x${n}`)
    .join(", ");
}

/**
 * Whether an entry's check passed: its bug found, and its fixed design clean but for the
 * documented findings of that design (findings.ts), which are counted and shown.
 */
export function entryPassed(e: CatalogCheckEntry): boolean {
  return e.found && entryPassedFixed(e);
}

function fixedOutcome(design: string, fixed: ExploreResult) {
  const { findings, unexplained } = classifyFixed(design, fixed);
  return { fixedFindings: findings, fixedUnexplained: unexplained };
}

/** The fixed runs' violations split into documented findings and the rest, one by one. */
export function classifyFixed(
  design: string,
  fixed: Pick<ExploreResult, "failingKinds" | "failingMessages">,
) {
  const findings: Record<string, number> = {};
  let unexplained = 0;
  fixed.failingKinds.forEach((kind, i) => {
    const finding = findingOf(design, { kind, message: fixed.failingMessages[i] ?? "" });
    if (finding === undefined) unexplained++;
    else findings[finding.id] = (findings[finding.id] ?? 0) + 1;
  });
  return { findings, unexplained };
}

export interface CatalogCheckResult {
  readonly entries: readonly CatalogCheckEntry[];
  readonly schedulesPerSecond: number;
}

/** One search, in this thread or on worker threads (same results either way). */
async function search(
  scenario: Scenario,
  options: ExploreOptions,
  workers: number,
): Promise<ExploreResult> {
  if (workers <= 1) return explore(scenario, options);
  return exploreParallel(catalogScenarioRef(scenario), { ...options, workers });
}

export async function catalogCheck(
  entries: readonly CatalogEntry[],
  options: CatalogCheckOptions = {},
): Promise<CatalogCheckResult> {
  const workers = options.workers ?? 1;
  const budget = options.budget ?? 20_000;
  const strategy = options.strategy ?? "random";
  const seed = options.seed ?? 0;
  let schedules = 0;
  let seconds = 0;
  const out: CatalogCheckEntry[] = [];
  for (const entry of entries) {
    const base = {
      strategy,
      schedules: budget,
      seed,
      design: entry.design,
      ...(options.timing === undefined ? {} : { timing: options.timing }),
    } as const;
    const t0 = performance.now();
    const buggy = await search(entry.scenario, { ...base, defects: entryDefects(entry) }, workers);
    const t1 = performance.now();
    const fixed = await search(
      entry.scenario,
      { ...base, defects: entryDefects(entry, true), stopAtFirst: false },
      workers,
    );
    const t2 = performance.now();
    schedules += buggy.schedulesRun + fixed.schedulesRun;
    seconds += (t2 - t0) / 1000;
    const failure = buggy.firstFailure;
    const found =
      buggy.verdict === "violation" &&
      failure !== null &&
      showsEntry(entry, failure.violation.kind);
    let depth: number | null = null;
    if (failure !== null) {
      const shrunk = shrink(
        entry.scenario,
        {
          seed: failure.seed,
          schedule: failure.schedule,
          timing: failure.timing,
          design: entry.design,
          defects: entryDefects(entry),
        },
        { maxRuns: 300 },
      );
      depth = shrunk.preemptions;
    }
    out.push({
      id: entry.id,
      found,
      schedulesToFind: buggy.schedulesToFind,
      secondsToFind: found ? (t1 - t0) / 1000 : null,
      violation: failure?.violation.kind ?? null,
      depth,
      fixedSchedules: fixed.schedulesRun,
      fixedViolations: fixed.failingIndices.length,
      ...fixedOutcome(entry.design, fixed),
      buggyVerdict: buggy.verdict,
      fixedVerdict: fixed.verdict,
      internalError:
        buggy.firstInternalError?.error.message ?? fixed.firstInternalError?.error.message ?? null,
    });
    options.onEntry?.(out.length, entries.length);
  }
  return { entries: out, schedulesPerSecond: seconds > 0 ? schedules / seconds : 0 };
}
