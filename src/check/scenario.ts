/**
 * A scenario: how the explorer gets a fresh, unrun kernel for one schedule, and the
 * oracle that judges the run once it is over.
 *
 * Models no kernel file. Every search (random, PCT, DFS, replay, shrinking) only ever
 * builds a kernel from a `Scenario` and runs it, so memory/RDMA scenarios plug in later
 * without the explorer knowing anything about them.
 */
import type { Kernel, RunResult } from "../sim/kernel.ts";
import type { Strategy } from "../sim/strategy.ts";
import type { Timing } from "../sim/timing.ts";
import type { Violation } from "../sim/violation.ts";
import { faultKernelOptions, type FaultPlan } from "./faults.ts";

/**
 * What a run is made under besides its seed and its schedule: the same settings make
 * the same run, so searches, shrinking, replay and tokens all carry exactly these.
 */
export interface RunSettings {
  /** The interlock design, for scenarios that have more than one. */
  readonly design?: string;
  /** Named historical defects to switch on. */
  readonly defects?: readonly string[];
  /** Whether the strategy may fire timers early (sim/timing.ts). Default nominal. */
  readonly timing?: Timing;
  /** Faults to inject (faults.ts); the scenario hands them to its kernel. */
  readonly faults?: FaultPlan;
  /** Parts of the scenario (`Scenario.parts`) to leave out: how shrinking drops them. */
  readonly omit?: readonly string[];
}

/** The settings `s` sets, without undefined fields (so they can be spread). */
export function runSettingsOf(s: RunSettings): RunSettings {
  return {
    ...(s.design === undefined ? {} : { design: s.design }),
    ...(s.defects === undefined ? {} : { defects: s.defects }),
    ...(s.timing === undefined ? {} : { timing: s.timing }),
    ...(s.faults === undefined ? {} : { faults: s.faults }),
    ...(s.omit === undefined || s.omit.length === 0 ? {} : { omit: s.omit }),
  };
}

/** What one run is built from. */
export interface ScenarioContext extends RunSettings {
  readonly seed: number;
  readonly strategy: Strategy;
  /** Record a trace (reports and replays want one; searches do not). */
  readonly trace?: boolean;
  /** Called with the built kernel before it runs (to attach observers, e.g. snapshots). */
  readonly onKernel?: (kernel: Kernel) => void;
}

export interface Scenario {
  /** Short stable name, used in tokens and on the command line. */
  readonly name: string;
  /**
   * A stable description of what the scenario does (its tasks and their steps); its
   * SHA-256 goes into a replay token, so a token made against another version of the
   * scenario is refused instead of replaying something else. Change it whenever the
   * scenario's behaviour changes.
   */
  readonly description: string;
  /**
   * Names of the parts a run may leave out (`ScenarioContext.omit`), coarse ones first:
   * whole threads, then single operations. A left-out thread is still spawned (so task
   * ids stay as they were) but does nothing. Scenarios without parts are shrunk by
   * schedule and faults only.
   */
  readonly parts?: readonly string[];
  /**
   * The scenario file it was loaded from, if any (as the user named it): a replay token
   * records it, so `odpsim replay` can load the file again (the hash checks it is the same).
   */
  readonly file?: string;
  /**
   * For a scenario loaded from a user's module: a hash of the module's source. A replay
   * token records it, and a token is refused once the module's source has changed.
   */
  readonly sourceHash?: string;
  /** A fresh kernel with the scenario's tasks spawned, not yet run. */
  build(ctx: ScenarioContext): Kernel;
  /** Oracles that judge the finished run (a lost update, a leak at teardown). */
  check?(kernel: Kernel, result: RunResult): readonly Violation[];
}

/** One finished run of a scenario. */
export interface ScenarioRun {
  readonly kernel: Kernel;
  readonly result: RunResult;
  /** The kernel's violations, then the post-run oracle's. */
  readonly violations: readonly Violation[];
}

/**
 * The Kernel options a scenario takes from its context as they are: seed, strategy,
 * trace, timing and fault plan (defects and the step bound are the scenario's to set).
 */
export function contextKernelOptions(ctx: ScenarioContext) {
  return {
    seed: ctx.seed,
    strategy: ctx.strategy,
    trace: ctx.trace === true,
    ...(ctx.timing === undefined ? {} : { timing: ctx.timing }),
    ...faultKernelOptions(ctx.faults),
  };
}

/** Builds and runs one schedule of `scenario`, then applies its post-run oracle. */
export function runScenario(scenario: Scenario, ctx: ScenarioContext): ScenarioRun {
  const kernel = scenario.build(ctx);
  ctx.onKernel?.(kernel);
  const result = kernel.run();
  const extra = scenario.check?.(kernel, result) ?? [];
  const violations = extra.length === 0 ? result.violations : [...result.violations, ...extra];
  return { kernel, result, violations };
}

/** The violation a run is judged by: its first one, or null for a clean run. */
export function primaryViolation(run: ScenarioRun): Violation | null {
  return run.violations[0] ?? null;
}
