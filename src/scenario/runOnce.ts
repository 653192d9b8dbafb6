/**
 * One execution of a scenario file, as `odpsim run` reports it: the run's status, its
 * violations, the data checks and whether the file's expectation was met.
 *
 * Models no kernel file. The schedule is uniform random from the seed — the same run
 * the explorer's random strategy makes for that seed under the same timing, so
 * `odpsim explore FILE` and `odpsim run FILE --seed S --timing free` agree on what
 * schedule S does. A run's timing defaults to nominal (the cost model's timeline).
 */
import type { RunStatus } from "../sim/kernel.ts";
import { UniformRandom } from "../sim/strategies/uniformRandom.ts";
import { DEFAULT_RUN_TIMING, type Timing } from "../sim/timing.ts";
import type { Violation } from "../sim/violation.ts";
import { verdictOf, type Verdict } from "../check/verdict.ts";
import { DEFAULT_MLX5_ODP_DESIGN } from "../rdma/mlx5/odp/designs.ts";
import { scenarioDesignProblem } from "./designs.ts";
import { runScenario, type Scenario, type ScenarioRun } from "../check/scenario.ts";
import type { CompiledScenario } from "./compile.ts";
import type { DataCheckResult } from "./dataCheck.ts";
import { defectProblem } from "./validate.ts";

export interface RunOnceOptions {
  readonly seed: number;
  /** Overrides the file's design. */
  readonly design?: string | undefined;
  /** Overrides the file's defects when given; [] switches them off. */
  readonly defects?: readonly string[] | undefined;
  /** Default nominal. */
  readonly timing?: Timing | undefined;
  readonly trace?: boolean;
}

export interface RunReport {
  readonly scenario: string;
  readonly file: string;
  readonly design: string;
  readonly defects: readonly string[];
  readonly timing: Timing;
  readonly seed: number;
  readonly status: RunStatus;
  /** What the run says: an internal error or a cut-off run is never clean. */
  readonly verdict: Verdict;
  readonly steps: number;
  readonly timeNs: number;
  readonly violations: readonly Violation[];
  readonly internalError: string | null;
  readonly dataChecks: readonly DataCheckResult[];
  /** The file's expected violation kind, or null for "none". */
  readonly expectedViolation: string | null;
  /** Whether this run shows what the file expects. */
  readonly expectationMet: boolean;
  /** Whether the run was clean: exit status 0. */
  readonly clean: boolean;
  readonly notes: readonly string[];
}

/**
 * Why a run of a file cannot take this design and these defects (after the command
 * line's overrides), or null: the design must be modelled and each defect one of its
 * own, exactly as validate.ts holds a file's `design:` and `defects:`.
 */
export function configProblem(design: string, defects: readonly string[]): string | null {
  return scenarioDesignProblem(design) ?? defectsProblem(design, defects);
}

/** What is wrong with the first of `defects` that does not fit `design`, or null. */
function defectsProblem(design: string, defects: readonly string[]): string | null {
  for (const id of defects) {
    const defect = defectProblem(id, design);
    if (defect !== null) return defect;
  }
  return null;
}

/**
 * configProblem of `scenario` under these overrides. A defect of the file (no
 * `--defect` given) that does not fit says `--defect none` switches the file's defects
 * off; a design that is wrong is said alone, as no defect flag would help it.
 */
export function effectiveConfigProblem(
  scenario: CompiledScenario,
  design: string | undefined,
  defects: readonly string[] | undefined,
): string | null {
  const config = effectiveConfig(scenario, design, defects);
  const problem = scenarioDesignProblem(config.design);
  if (problem !== null) return problem;
  const defect = defectsProblem(config.design, config.defects);
  if (defect === null || defects !== undefined) return defect;
  return `${defect} (a defect of the file; --defect none switches them off)`;
}

/**
 * The design and defects a run of `scenario` uses under these overrides: `defects`
 * undefined keeps the file's, an empty list switches them off (`--defect none`).
 */
export function effectiveConfig(
  scenario: CompiledScenario,
  design: string | undefined,
  defects: readonly string[] | undefined,
): { design: string; defects: readonly string[] } {
  return {
    design: design ?? scenario.spec.design ?? DEFAULT_MLX5_ODP_DESIGN,
    defects: defects ?? scenario.spec.defects ?? [],
  };
}

export function runOnce(
  scenario: CompiledScenario,
  opts: RunOnceOptions,
): { report: RunReport; run: ScenarioRun } {
  const { design, defects } = effectiveConfig(scenario, opts.design, opts.defects);
  const notes: string[] = [];
  if (scenario.spec.faults !== undefined) {
    notes.push(
      "fault injection: alloc, dma_map and umr fail at their failure points; " +
        "nonblockable_invalidate and process_kill act on each process, device_removal on each host",
    );
  }
  const target: RunTarget = {
    scenario,
    file: scenario.file,
    design,
    defects,
    expectedViolation: scenario.expectedViolation,
    dataChecks: (run) => scenario.dataChecks(run.kernel, run.result),
    notes,
  };
  return runTargetOnce(target, opts);
}

/** What one run is of: a scenario, where it came from, and what it expects. */
export interface RunTarget {
  readonly scenario: Scenario;
  /** The file (or module) the scenario came from. */
  readonly file: string;
  readonly design: string;
  readonly defects: readonly string[];
  /** The violation kind the run should show, or null for "none". */
  readonly expectedViolation: string | null;
  /** The data checks of the finished run (none for a scenario without any). */
  readonly dataChecks?: (run: ScenarioRun) => readonly DataCheckResult[];
  readonly notes?: readonly string[];
}

/**
 * One run of `target` (a uniform random schedule from the seed) and its report: the
 * verdict, the violations, the data checks and whether the expectation was met.
 */
export function runTargetOnce(
  target: RunTarget,
  opts: Pick<RunOnceOptions, "seed" | "timing" | "trace">,
): { report: RunReport; run: ScenarioRun } {
  const { design, defects } = target;
  const timing = opts.timing ?? DEFAULT_RUN_TIMING;
  const run = runScenario(target.scenario, {
    seed: opts.seed,
    strategy: new UniformRandom(),
    trace: opts.trace === true,
    design,
    defects,
    timing,
  });
  const { result, violations } = run;
  const expected = target.expectedViolation;
  const clean = result.status === "ok" && violations.length === 0;
  const report: RunReport = {
    scenario: target.scenario.name,
    file: target.file,
    design,
    defects,
    timing,
    seed: opts.seed,
    status: result.status,
    verdict: verdictOf({
      internalError: result.status === "internal_error",
      violation: violations.length > 0,
      inconclusive: result.status === "step_bound",
    }),
    steps: result.steps,
    timeNs: result.timeNs,
    violations,
    internalError: result.internalError?.message ?? null,
    dataChecks: target.dataChecks?.(run) ?? [],
    expectedViolation: expected,
    expectationMet: expected === null ? clean : violations.some((v) => v.kind === expected),
    clean,
    notes: target.notes ?? [],
  };
  return { report, run };
}

/** The human-readable form `odpsim run` prints. */
export function renderRunReport(r: RunReport): string {
  const lines = [
    `scenario ${r.scenario} (${r.file}): design ${r.design}, defects ${r.defects.length === 0 ? "none" : r.defects.join(", ")}, timing ${r.timing}, seed ${r.seed}`,
    `status: ${r.status} after ${r.steps} steps, ${(r.timeNs / 1000).toFixed(1)} us of virtual time`,
  ];
  if (r.internalError !== null) lines.push(`odpsim internal error: ${r.internalError}`);
  if (r.status === "step_bound") {
    lines.push(
      `inconclusive: the run hit the step bound (${r.steps} steps) before it ended; ` +
        "raise maxSteps in the file",
    );
  }
  if (r.violations.length === 0) lines.push("violations: none");
  else {
    lines.push(`violations: ${r.violations.length}`);
    for (const v of r.violations) {
      lines.push(
        `  ${v.kind} at step ${v.step}${v.task === null ? "" : ` in ${v.task}`}: ${v.message}`,
      );
    }
  }
  if (r.dataChecks.length > 0) {
    const passed = r.dataChecks.filter((c) => c.status === "passed").length;
    lines.push(`data checks: ${passed} of ${r.dataChecks.length} passed`);
    for (const c of r.dataChecks) {
      const range = `${c.process} ${c.buffer}[${c.offset}, ${c.offset + c.bytes})`;
      lines.push(`  ${c.status.padEnd(7)} ${range}${c.message === "" ? "" : `: ${c.message}`}`);
    }
  }
  const want = r.expectedViolation ?? "no violation";
  const verdict = r.expectationMet ? "met by this run" : "not met by this run";
  const hint =
    !r.expectationMet && r.expectedViolation !== null
      ? ` (a race needs the right schedule: odpsim explore ${r.file})`
      : "";
  lines.push(`expectation (${want}): ${verdict}${hint}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join("\n");
}
