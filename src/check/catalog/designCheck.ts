/**
 * `odpsim catalog check --design ./my-design.ts`: every catalog scenario that builds an
 * mlx5 host, explored under a user's mlx5 ODP design, with the defects asked for (none:
 * the design as written). Each scenario's outcome is clean, a violation (its kind, a
 * documented finding of the generation the design builds on if it is one, and the
 * replay token of the shrunk run), inconclusive (runs hit the step bound, or an internal
 * error in odpsim or the design), or skipped with the reason.
 *
 * Models no kernel file. Which scenarios run the design is not declared but seen: each
 * is built once under it, and only one whose mlx5 devices were set up with it is
 * searched (the dmirror scenario builds no mlx5 host; the uverbs ones run a uverbs mmap
 * scheme). An inconclusive search or an internal error is never reported clean.
 */
import {
  explore,
  type ExploreFailure,
  type ExploreOptions,
  type ExploreResult,
} from "../explore.ts";
import { exploreParallel } from "../parallel.ts";
import type { Scenario } from "../scenario.ts";
import type { ScenarioRef } from "../scenarioRef.ts";
import { shrink } from "../shrink.ts";
import { encodeToken } from "../token.ts";
import type { Verdict } from "../verdict.ts";
import type { Timing } from "../../sim/timing.ts";
import { FirstRunnable } from "../../sim/strategies/firstRunnable.ts";
import {
  isMlx5OdpDesignName,
  mlx5OdpDesign,
  mlx5OdpDesignsSetUp,
} from "../../rdma/mlx5/odp/designs.ts";
import { CATALOG, type CatalogEntry } from "./catalog.ts";
import { findingOf } from "./findings.ts";

export interface DesignCheckOptions {
  /** The registered name of the user's design (its module path). */
  readonly design: string;
  /** Defects switched on in every run (default none). */
  readonly defects?: readonly string[];
  /** Schedules per scenario. Default 20,000. */
  readonly budget?: number;
  readonly seed?: number;
  /** Default free (the explorer's). */
  readonly timing?: Timing;
  /** Worker threads per search. Default 1 (in this thread). */
  readonly workers?: number;
  /** With workers: where a worker finds a scenario, the design module registered first. */
  readonly workerRef?: (scenario: Scenario) => ScenarioRef;
  /** The catalog scenarios to check, by name (default every one). */
  readonly scenarios?: readonly string[];
  /** Called after each scenario (progress bars). */
  readonly onScenario?: (done: number, total: number) => void;
}

export type DesignCheckStatus = "clean" | "violation" | "inconclusive" | "skipped";

export interface DesignCheckViolation {
  readonly kind: string;
  readonly message: string;
  /** The documented finding of the design's base generation this is, or null. */
  readonly finding: string | null;
  /** Preemptions of the shrunk run. */
  readonly depth: number;
  readonly token: string;
}

export interface DesignCheckEntry {
  readonly scenario: string;
  /** The catalog entries (ids) whose scenario this is. */
  readonly entries: readonly string[];
  readonly status: DesignCheckStatus;
  /** The search's verdict; null when skipped. */
  readonly verdict: Verdict | null;
  readonly schedulesRun: number;
  /** Schedules a sequential search needs to meet the violation; null if none. */
  readonly schedulesToFind: number | null;
  readonly violation: DesignCheckViolation | null;
  /** Why it was skipped or is inconclusive; null otherwise. */
  readonly reason: string | null;
  /** An internal error's replay token, or null. */
  readonly errorToken: string | null;
}

export interface DesignCheckResult {
  readonly design: string;
  readonly defects: readonly string[];
  readonly budget: number;
  readonly entries: readonly DesignCheckEntry[];
}

/** Each catalog scenario once, with the entries that use it, in catalog order. */
export function catalogScenarioGroups(): { scenario: Scenario; entries: CatalogEntry[] }[] {
  const groups = new Map<Scenario, CatalogEntry[]>();
  for (const e of CATALOG) groups.set(e.scenario, [...(groups.get(e.scenario) ?? []), e]);
  return [...groups].map(([scenario, entries]) => ({ scenario, entries }));
}

export async function designCheck(options: DesignCheckOptions): Promise<DesignCheckResult> {
  const only = options.scenarios;
  const groups = catalogScenarioGroups().filter(
    (g) => only === undefined || only.includes(g.scenario.name),
  );
  const entries: DesignCheckEntry[] = [];
  for (const { scenario, entries: of } of groups) {
    entries.push(await checkScenario(scenario, of, options));
    options.onScenario?.(entries.length, groups.length);
  }
  const { design, defects = [] } = options;
  return { design, defects, budget: options.budget ?? 20_000, entries };
}

async function checkScenario(
  scenario: Scenario,
  of: readonly CatalogEntry[],
  options: DesignCheckOptions,
): Promise<DesignCheckEntry> {
  const base = { scenario: scenario.name, entries: of.map((e) => e.id) };
  const skip = skipReason(scenario, of, options);
  if (skip !== null) {
    const none = { verdict: null, schedulesRun: 0, schedulesToFind: null, errorToken: null };
    return { ...base, ...none, status: "skipped", violation: null, reason: skip };
  }
  const result = await search(scenario, exploreOptions(options), options);
  return { ...base, ...judged(scenario, result, options) };
}

/**
 * Why `scenario` does not run the design, or null: its entries are of another layer, or
 * built once under the design it set up no mlx5 device with it. A build that throws is
 * not a skip: the search meets it and reports it.
 */
function skipReason(
  scenario: Scenario,
  of: readonly CatalogEntry[],
  options: DesignCheckOptions,
): string | null {
  if (!of.some((e) => isMlx5OdpDesignName(e.design))) {
    const designs = [...new Set(of.map((e) => e.design))].join(", ");
    return `not an mlx5 ODP scenario (its entries are of design ${designs})`;
  }
  let setUp: readonly string[];
  try {
    const ctx = { seed: 0, strategy: new FirstRunnable(), design: options.design };
    setUp = mlx5OdpDesignsSetUp(scenario.build({ ...ctx, defects: options.defects ?? [] }));
  } catch {
    return null;
  }
  if (setUp.includes(options.design)) return null;
  if (setUp.length === 0) return "builds no mlx5 host, so no design runs in it";
  return `builds its mlx5 host with ${setUp.join(", ")} whatever the design asked`;
}

function exploreOptions(options: DesignCheckOptions): ExploreOptions {
  return {
    strategy: "random",
    schedules: options.budget ?? 20_000,
    seed: options.seed ?? 0,
    design: options.design,
    defects: [...(options.defects ?? [])],
    ...(options.timing === undefined ? {} : { timing: options.timing }),
  };
}

/** One search, in this thread or on worker threads (same results either way). */
async function search(
  scenario: Scenario,
  explorer: ExploreOptions,
  options: DesignCheckOptions,
): Promise<ExploreResult> {
  const workers = options.workers ?? 1;
  if (workers <= 1 || options.workerRef === undefined) return explore(scenario, explorer);
  return exploreParallel(options.workerRef(scenario), { ...explorer, workers });
}

/** The search's verdict as an entry's status, with what backs it. */
function judged(scenario: Scenario, r: ExploreResult, options: DesignCheckOptions) {
  const { verdict, schedulesRun, schedulesToFind } = r;
  const common = { verdict, schedulesRun, schedulesToFind, errorToken: null };
  const error = r.firstInternalError;
  if (r.verdict === "internal_error" && error !== null) {
    const token = tokenOf(scenario, { ...error, timing: r.timing }, options);
    const reason = `internal error (in odpsim or the design): ${error.error.message}`;
    return {
      ...common,
      status: "inconclusive",
      violation: null,
      reason,
      errorToken: token,
    } as const;
  }
  if (r.verdict === "violation" && r.firstFailure !== null) {
    const violation = violationOf(scenario, r.firstFailure, options);
    return { ...common, status: "violation", violation, reason: null } as const;
  }
  if (r.verdict === "clean")
    return { ...common, status: "clean", violation: null, reason: null } as const;
  const reason = `${r.inconclusiveIndices.length} runs hit the step bound`;
  return { ...common, status: "inconclusive", violation: null, reason } as const;
}

/** The failure shrunk, with its kind, finding and the token that replays it. */
function violationOf(
  scenario: Scenario,
  failure: ExploreFailure,
  options: DesignCheckOptions,
): DesignCheckViolation {
  const settings = runOf(failure.timing, options);
  const shrunk = shrink(
    scenario,
    { seed: failure.seed, schedule: failure.schedule, ...settings },
    { maxRuns: 300 },
  );
  const { kind, message } = failure.violation;
  const core = mlx5OdpDesign(options.design).core.name;
  return {
    kind,
    message,
    finding: findingOf(core, { kind, message })?.id ?? null,
    depth: shrunk.preemptions,
    token: tokenOf(
      scenario,
      { seed: failure.seed, schedule: shrunk.executed, timing: failure.timing },
      { ...options, omit: shrunk.omit },
    ),
  };
}

function runOf(timing: Timing, options: DesignCheckOptions) {
  return { timing, design: options.design, defects: [...(options.defects ?? [])] };
}

function tokenOf(
  scenario: Scenario,
  run: { seed: number; schedule: ArrayLike<number>; timing?: Timing },
  options: DesignCheckOptions & { omit?: readonly string[] },
): string {
  const timing = run.timing ?? options.timing;
  return encodeToken(scenario, {
    seed: run.seed,
    schedule: run.schedule,
    strategy: "random",
    design: options.design,
    defects: [...(options.defects ?? [])],
    ...(timing === undefined ? {} : { timing }),
    ...(options.omit === undefined ? {} : { omit: options.omit }),
  });
}
