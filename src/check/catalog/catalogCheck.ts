/**
 * `odpsim catalog check`: explore each entry's scenario with its defect on, then with it
 * off, on the same schedule budget.
 *
 * Models no kernel file. Wall-clock time is read here only to report how long a search
 * took; it never enters a run.
 */
import { performance } from "node:perf_hooks";
import { explore, type StrategyName } from "../explore.ts";
import { shrink } from "../shrink.ts";
import type { CatalogEntry } from "./catalog.ts";

export interface CatalogCheckOptions {
  /** Schedules per search. Default 20,000. */
  readonly budget?: number;
  readonly strategy?: StrategyName;
  readonly seed?: number;
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
}

export interface CatalogCheckResult {
  readonly entries: readonly CatalogCheckEntry[];
  readonly schedulesPerSecond: number;
}

export function catalogCheck(
  entries: readonly CatalogEntry[],
  options: CatalogCheckOptions = {},
): CatalogCheckResult {
  const budget = options.budget ?? 20_000;
  const strategy = options.strategy ?? "random";
  const seed = options.seed ?? 0;
  let schedules = 0;
  let seconds = 0;
  const out: CatalogCheckEntry[] = [];
  for (const entry of entries) {
    const base = { strategy, schedules: budget, seed, design: entry.design } as const;
    const t0 = performance.now();
    const buggy = explore(entry.scenario, { ...base, defects: [entry.id] });
    const t1 = performance.now();
    const fixed = explore(entry.scenario, { ...base, defects: [], stopAtFirst: false });
    const t2 = performance.now();
    schedules += buggy.schedulesRun + fixed.schedulesRun;
    seconds += (t2 - t0) / 1000;
    const failure = buggy.firstFailure;
    const found = failure !== null && failure.violation.kind === entry.expected;
    let depth: number | null = null;
    if (failure !== null) {
      const shrunk = shrink(
        entry.scenario,
        {
          seed: failure.seed,
          schedule: failure.schedule,
          design: entry.design,
          defects: [entry.id],
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
    });
    options.onEntry?.(out.length, entries.length);
  }
  return { entries: out, schedulesPerSecond: seconds > 0 ? schedules / seconds : 0 };
}
