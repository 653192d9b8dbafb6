/**
 * Shrinking a failing schedule: fewer preemptions first, then fewer steps, until no
 * single removal still fails the same way.
 *
 * Models no kernel file. Every candidate is replayed with `GuidedReplay` (same seed and
 * settings, so the model draws the same randomness): the steps it names are followed
 * where they can be, and every gap is filled by letting the current task go on, so
 * deleting part of a schedule never adds a preemption and never fires a timer early. A
 * candidate is kept when the run's first violation is the same as the original's, the
 * same kind at the same place (violationPlace.ts), and it is better:
 *
 * 1. Preemptions. For each preemption of the current run (a switch away from a task that
 *    could still run, or any timer fired early), try cutting the schedule
 *    there (everything after runs without preemption), deleting the preempting segment,
 *    moving the preempted task's next segment in front of it, or swapping the preempted
 *    segment with the preempting one (the preempting task simply ran first). Kept if the run has
 *    fewer preemptions. Early timers go the same way: a timer step deleted is a timer
 *    that fires only when nothing can run.
 * 2. Steps. The schedule is cut after its last decision (the last step that differs from
 *    what a non-preemptive scheduler would pick; the rest is implied), then chunks are
 *    deleted, halving the chunk size down to single steps (delta debugging). Kept if the
 *    run has no more preemptions and the cut schedule is shorter.
 *
 * 3. Faults. When the run injected faults, each injected fault is suppressed in turn
 *    (by its number, so the PRNG is drawn as before); kept if the run still fails the
 *    same way with no more preemptions. Faults a bug does not need leave the report.
 *
 * 4. Parts. When the scenario names parts it can leave out (`Scenario.parts`: whole
 *    threads, then single operations), each is left out in turn; kept if the run still
 *    fails the same way with no more preemptions, and if leaving it out does not make
 *    the scenario fail by construction: when the scenario passes its reference run (the
 *    non-preemptive schedule under nominal timing), the reduced one must pass it too. So
 *    a data check that needs a writer never shrinks to a run with the writer left out,
 *    which fails the check without any race. The report then shows only the threads and
 *    operations the bug needs.
 *
 * The phases repeat until none improves. The result is 1-minimal: deleting any one
 * step of `schedule`, any one injected fault or any one part no longer reproduces the
 * violation kind without adding preemptions (unless the run budget ran out first,
 * which `minimal` says).
 *
 * Depth and PCT bound: a bug reproduced with p preemptions has PCT depth at most
 * d = p + 1, and one PCT run with n tasks and k choice points (steps where more than one
 * task could run; see strategies/pct.ts) finds it with probability at least
 * 1 / (n · k^(d-1)) (Burckhardt et al. 2010, theorem 9), n and k taken from the shrunk run.
 */
import { FirstRunnable } from "../sim/strategies/firstRunnable.ts";
import type { Violation } from "../sim/violation.ts";
import {
  primaryViolation,
  runScenario,
  runSettingsOf,
  type RunSettings,
  type Scenario,
  type ScenarioContext,
} from "./scenario.ts";
import type { FaultPlan } from "./faults.ts";
import { GuidedReplay } from "./strategies/guidedReplay.ts";
import { Recording } from "./strategies/recording.ts";
import { violationPlace } from "./violationPlace.ts";

/** A failing run to shrink: its seed, its schedule, its settings (omit: parts already out). */
export interface ShrinkInput extends RunSettings {
  readonly seed: number;
  /** The failing run's schedule (a complete recorded schedule). */
  readonly schedule: ArrayLike<number>;
}

export interface ShrinkOptions {
  /** Most replays to spend. Default 5000. */
  readonly maxRuns?: number;
}

export interface PctBound {
  /** Tasks spawned in the shrunk run. */
  readonly n: number;
  /** Choice points of the shrunk run. */
  readonly k: number;
  /** PCT depth: preemptions + 1. */
  readonly d: number;
  /** 1 / (n · k^(d-1)). */
  readonly probability: number;
  readonly formula: string;
}

export interface ShrinkResult {
  /** The shrunk schedule: replayed with GuidedReplay it reproduces the violation. */
  readonly schedule: Uint32Array;
  /** The complete schedule that run executed (replays exactly with ReplaySchedule). */
  readonly executed: Uint32Array;
  readonly violation: Violation;
  readonly originalSteps: number;
  readonly originalPreemptions: number;
  /** Steps of the shrunk run. */
  readonly steps: number;
  /** Preemptions of the shrunk run: the bug's depth as the issue counts it. */
  readonly preemptions: number;
  readonly pctBound: PctBound;
  readonly runs: number;
  /** The fault plan of the shrunk run: the input's, with unneeded faults suppressed. */
  readonly faults?: FaultPlan;
  /** Faults the shrunk run injects. */
  readonly faultsInjected: number;
  /** The scenario parts the shrunk run leaves out. */
  readonly omit: readonly string[];
  /** False when the run budget ended the search before it was 1-minimal. */
  readonly minimal: boolean;
}

/** Thrown when the input schedule does not fail when replayed (a nondeterminism bug). */
export class ShrinkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShrinkError";
  }
}

interface Attempt {
  readonly executed: Uint32Array;
  readonly preemptionSteps: readonly number[];
  readonly lastDecision: number;
  readonly violation: Violation | null;
  readonly tasks: number;
  readonly choicePoints: number;
  /** Fault numbers the run came to; and which of them it injected. */
  readonly faultsDrawn: number;
  readonly faultsInjected: number;
}

/** The PCT lower bound for a bug needing `preemptions` in a run of `n` tasks, `k` choices. */
export function pctBound(n: number, k: number, preemptions: number): PctBound {
  const d = preemptions + 1;
  const probability = 1 / (n * Math.pow(Math.max(1, k), d - 1));
  return { n, k, d, probability, formula: `1/(n·k^(d-1)) = 1/(${n}·${k}^${d - 1})` };
}

/** Replays `schedule` as a guide under the input's seed, recording preemptions. */
function attempt(
  scenario: Scenario,
  input: ShrinkInput,
  schedule: ArrayLike<number>,
  faults: FaultPlan | undefined,
  omit: readonly string[],
): Attempt {
  const recording = new Recording(new GuidedReplay(schedule));
  const ctx: ScenarioContext = {
    seed: input.seed,
    strategy: recording,
    ...runSettingsOf({ ...input, faults, omit }),
  };
  const run = runScenario(scenario, ctx);
  const violation = run.result.internalError === null ? primaryViolation(run) : null;
  return {
    executed: run.result.schedule,
    preemptionSteps: [...recording.preemptionSteps],
    lastDecision: recording.decisionSteps.at(-1) ?? -1,
    violation,
    tasks: run.kernel.allTasks().length,
    choicePoints: recording.choicePoints,
    faultsDrawn: run.kernel.faultsDrawn,
    faultsInjected: run.kernel.faultsInjected,
  };
}

/**
 * Whether the scenario, with `omit` left out, passes its reference run: one
 * non-preemptive schedule under nominal timing, with the input's seed and faults.
 */
function passesReference(
  scenario: Scenario,
  input: ShrinkInput,
  faults: FaultPlan | undefined,
  omit: readonly string[],
): boolean {
  const run = runScenario(scenario, {
    seed: input.seed,
    strategy: new FirstRunnable(),
    ...runSettingsOf({ ...input, faults, omit }),
    timing: "nominal",
  });
  return run.result.status === "ok" && primaryViolation(run) === null;
}

class Shrinker {
  runs = 0;
  private readonly place: string;
  /** Whether the unshrunk scenario passes its reference run (then every reduction must). */
  private readonly referencePasses: boolean;

  constructor(
    private readonly scenario: Scenario,
    private readonly input: ShrinkInput,
    private readonly maxRuns: number,
  ) {
    this.faults = input.faults;
    this.omit = input.omit ?? [];
    const first = this.attemptAny(input.schedule);
    if (first.violation === null) {
      throw new ShrinkError(`the schedule given to shrink does not fail when replayed`);
    }
    this.place = violationPlace(first.violation);
    this.runs++;
    this.referencePasses = passesReference(scenario, input, this.faults, this.omit);
    this.best = first;
    this.schedule = Uint32Array.from(input.schedule);
  }

  best: Attempt;
  schedule: Uint32Array;
  faults: FaultPlan | undefined;
  omit: readonly string[];

  get outOfRuns(): boolean {
    return this.runs >= this.maxRuns;
  }

  attemptAny(schedule: ArrayLike<number>, faults = this.faults, omit = this.omit): Attempt {
    this.runs++;
    return attempt(this.scenario, this.input, schedule, faults, omit);
  }

  /** Replays `schedule`; adopts it when it fails the same way and `better` says so. */
  tryAdopt(
    schedule: ArrayLike<number>,
    better: (a: Attempt) => boolean,
    faults = this.faults,
    omit = this.omit,
  ): boolean {
    if (this.outOfRuns) return false;
    const a = this.attemptAny(schedule, faults, omit);
    if (a.violation === null || violationPlace(a.violation) !== this.place || !better(a)) {
      return false;
    }
    this.best = a;
    this.faults = faults;
    this.omit = omit;
    this.schedule = a.executed.slice(0, a.lastDecision + 1);
    return true;
  }

  /** Phase 3: suppresses each injected fault in turn; true if one was dropped. */
  reduceFaults(): boolean {
    const plan = this.faults;
    if (plan === undefined) return false;
    const suppressed = new Set(plan.suppressed ?? []);
    let changed = false;
    for (let n = 0; n < this.best.faultsDrawn && !this.outOfRuns; n++) {
      if (suppressed.has(n)) continue;
      const candidate = { ...plan, suppressed: [...suppressed, n].sort((a, b) => a - b) };
      const limit = this.best.preemptionSteps.length;
      if (this.tryAdopt(this.schedule, (a) => a.preemptionSteps.length <= limit, candidate)) {
        suppressed.add(n);
        changed = true;
      }
    }
    return changed;
  }

  /** Phase 4: leaves out each remaining part of the scenario in turn. */
  reduceParts(): boolean {
    let changed = false;
    for (const part of this.scenario.parts ?? []) {
      if (this.outOfRuns) break;
      if (this.omit.includes(part) || this.omit.includes(threadOf(part))) continue;
      const limit = this.best.preemptionSteps.length;
      const omit = [...this.omit, part];
      const ok = (a: Attempt) => a.preemptionSteps.length <= limit && this.keepsReference(omit);
      if (this.tryAdopt(this.schedule, ok, this.faults, omit)) changed = true;
    }
    return changed;
  }

  /** Whether leaving `omit` out keeps the reference run as the unshrunk scenario's. */
  private keepsReference(omit: readonly string[]): boolean {
    if (!this.referencePasses) return true;
    this.runs++;
    return passesReference(this.scenario, this.input, this.faults, omit);
  }

  /** Phase 1: one pass over the preemptions; true if one was removed. */
  reducePreemptions(): boolean {
    const current = this.best;
    const fewer = (a: Attempt) => a.preemptionSteps.length < current.preemptionSteps.length;
    for (const p of current.preemptionSteps) {
      for (const candidate of preemptionCandidates(current.executed, p)) {
        if (this.tryAdopt(candidate, fewer)) return true;
      }
    }
    return false;
  }

  /** Phase 2: delta debugging over the steps; true if anything was removed. */
  reduceSteps(): boolean {
    let changed = false;
    this.tryAdopt(this.best.executed, () => true); // normalise: cut after the last decision
    let chunk = Math.max(1, Math.ceil(this.schedule.length / 2));
    for (;;) {
      let progress = false;
      for (let start = 0; start < this.schedule.length && !this.outOfRuns;) {
        const s = this.schedule;
        const candidate = concat(s.subarray(0, start), s.subarray(start + chunk));
        const limit = this.best.preemptionSteps.length;
        const ok = (a: Attempt) =>
          a.preemptionSteps.length <= limit && a.lastDecision + 1 < s.length;
        if (this.tryAdopt(candidate, ok)) progress = changed = true;
        else start += chunk;
      }
      if (this.outOfRuns || (!progress && chunk === 1)) return changed;
      if (!progress) chunk = Math.max(1, chunk >> 1);
    }
  }
}

/** The thread part an operation part belongs to (`proc/thread[3]` → `proc/thread`). */
function threadOf(part: string): string {
  return part.replace(/\[[0-9]+\]$/, "");
}

/** Ways to undo the preemption at step p of `executed`. */
function preemptionCandidates(executed: Uint32Array, p: number): Uint32Array[] {
  const preempted = executed[p - 1] as number;
  let end = p;
  while (end < executed.length && executed[end] === executed[p]) end++;
  let start = p - 1;
  while (start > 0 && executed[start - 1] === preempted) start--;
  const out = [
    executed.slice(0, p),
    concat(executed.subarray(0, p), executed.subarray(end)),
    concat(
      executed.subarray(0, start),
      executed.subarray(p, end),
      executed.subarray(start, p),
      executed.subarray(end),
    ),
  ];
  // Move the preempted task's next segment in front of the preempting one.
  let next = end;
  while (next < executed.length && executed[next] !== preempted) next++;
  if (next < executed.length) {
    let nextEnd = next;
    while (nextEnd < executed.length && executed[nextEnd] === preempted) nextEnd++;
    out.push(
      concat(
        executed.subarray(0, p),
        executed.subarray(next, nextEnd),
        executed.subarray(p, next),
        executed.subarray(nextEnd),
      ),
    );
  }
  return out;
}

function concat(...parts: Uint32Array[]): Uint32Array {
  const out = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Shrinks a failing schedule of `scenario`; see the file comment for the method. */
export function shrink(
  scenario: Scenario,
  input: ShrinkInput,
  options: ShrinkOptions = {},
): ShrinkResult {
  const s = new Shrinker(scenario, input, options.maxRuns ?? 5000);
  const original = s.best;
  for (;;) {
    let changed = false;
    while (s.reducePreemptions()) changed = true;
    if (s.reduceSteps()) changed = true;
    if (s.reduceFaults()) changed = true;
    if (s.reduceParts()) changed = true;
    if (!changed || s.outOfRuns) break;
  }
  const best = s.best;
  return {
    schedule: s.schedule,
    executed: best.executed,
    violation: best.violation as Violation,
    originalSteps: original.executed.length,
    originalPreemptions: original.preemptionSteps.length,
    steps: best.executed.length,
    preemptions: best.preemptionSteps.length,
    pctBound: pctBound(best.tasks, best.choicePoints, best.preemptionSteps.length),
    runs: s.runs,
    ...(s.faults === undefined ? {} : { faults: s.faults }),
    faultsInjected: best.faultsInjected,
    omit: s.omit,
    minimal: !s.outOfRuns,
  };
}

/**
 * Replays a shrunk schedule (GuidedReplay, same seed): its first violation and the
 * preemptions it took, e.g. to check that a schedule still fails.
 */
export function replayShrunk(
  scenario: Scenario,
  input: ShrinkInput,
): { readonly violation: Violation | null; readonly preemptions: number; readonly steps: number } {
  const a = attempt(scenario, input, input.schedule, input.faults, input.omit ?? []);
  return {
    violation: a.violation,
    preemptions: a.preemptionSteps.length,
    steps: a.executed.length,
  };
}
