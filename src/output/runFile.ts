/**
 * The run file: everything one execution produced, as JSON for viewers (odpsim's own
 * viewer, `odpsim view`, scripts).
 *
 * Models no kernel file. It exists so a run can be looked at after the process that ran
 * it has gone: the trace (tasks and entries), the violations, the report text, and
 * snapshots of the modelled state (address spaces, MR device views) at chosen steps.
 * Only types and pure functions live here, so the browser bundle can import it.
 *
 * Format, version 1:
 *
 *     { version: 1,
 *       meta: { scenario, design, defects, seed, strategy, status, steps, timeNs },
 *       tasks: [{ id, name, group: { kind, name }, parent }],
 *       entries: [{ step, timeNs, task, kind: "step" | "event", label, fields? }],
 *       violations: [{ kind, message, step, timeNs, task, details }],
 *       internalError?: { message, step, task },
 *       report?: string,
 *       slice?: { steps, windowStart, setupEnd, objects, rows: [{ step, task, text }] },
 *       snapshots: [{ step, processes: [...], mrs: [...] }] }
 *
 * `slice` is the race report's causal slice (src/check/slice.ts): the steps that matter
 * to the violation, the first step of the window they were taken from, the first step
 * after the setup phase, and the objects the violation names. The viewer opens on it.
 *
 * Addresses and frame numbers are plain JSON numbers (user addresses fit in 2^53).
 */
import type { RunResult, RunStatus } from "../sim/kernel.ts";
import type { TraceEntry, TraceTaskInfo } from "../sim/trace.ts";

export const RUN_FILE_VERSION = 1;

/** What the run was: chosen by whoever ran it (a scenario, the explorer, a test). */
export interface RunDescription {
  readonly scenario: string;
  readonly design: string;
  readonly defects: readonly string[];
  readonly seed: number;
  /** The strategy's name (`uniform`, `first`, `replay`, ...). */
  readonly strategy: string;
}

export interface RunMeta extends RunDescription {
  readonly status: RunStatus;
  readonly steps: number;
  readonly timeNs: number;
}

/** One VMA of a process: [start, end) and its flags (`read`, `write`, `shared`, ...). */
export interface SnapshotVma {
  readonly start: number;
  readonly end: number;
  readonly flags: readonly string[];
}

/** One page-table entry as the CPU sees it. `pfn` is null when nothing is mapped. */
export interface SnapshotPage {
  readonly va: number;
  readonly pfn: number | null;
  readonly present: boolean;
  readonly writable: boolean;
  readonly dirty: boolean;
}

export interface SnapshotProcess {
  readonly pid: number;
  readonly name: string;
  readonly vmas: readonly SnapshotVma[];
  readonly pages: readonly SnapshotPage[];
}

/**
 * One translation of an MR as the device sees it. `stale`: the device maps a frame the
 * CPU no longer maps at that address (the bug class the checkers hunt).
 */
export interface SnapshotMrEntry {
  readonly va: number;
  readonly pfn: number | null;
  readonly read: boolean;
  readonly write: boolean;
  readonly stale: boolean;
}

export interface SnapshotMr {
  readonly name: string;
  readonly lkey: number;
  readonly entries: readonly SnapshotMrEntry[];
}

/** The modelled state as it was right after `step`'s recorded event. */
export interface Snapshot {
  readonly step: number;
  readonly processes: readonly SnapshotProcess[];
  readonly mrs: readonly SnapshotMr[];
}

/** A violation as stored: details are JSON values. */
export interface RunViolation {
  readonly kind: string;
  readonly message: string;
  readonly step: number;
  readonly timeNs: number;
  readonly task: string | null;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface RunInternalError {
  readonly message: string;
  readonly step: number;
  readonly task: string | null;
}

/** The causal slice of the run's violation, as the viewer draws it. */
export interface RunSlice {
  readonly steps: readonly number[];
  readonly windowStart: number;
  readonly setupEnd: number;
  readonly objects: readonly string[];
  /** The report's rows: what each slice step did. */
  readonly rows: readonly RunSliceRow[];
}

export interface RunSliceRow {
  readonly step: number;
  readonly task: number;
  readonly text: string;
}

export interface RunFile {
  readonly version: typeof RUN_FILE_VERSION;
  readonly meta: RunMeta;
  readonly tasks: readonly TraceTaskInfo[];
  readonly entries: readonly TraceEntry[];
  readonly violations: readonly RunViolation[];
  readonly internalError?: RunInternalError;
  readonly report?: string;
  readonly slice?: RunSlice;
  readonly snapshots: readonly Snapshot[];
}

/**
 * Builds the run file of `result`. The run must have been traced (`trace: true`): a run
 * file without its trace would show nothing. Snapshots are sorted by step.
 */
export function buildRunFile(
  result: RunResult,
  description: RunDescription,
  snapshots: readonly Snapshot[] = [],
  report?: string,
  slice?: RunSlice,
): RunFile {
  const trace = result.trace;
  if (trace === null) throw new Error("buildRunFile needs a traced run (KernelOptions.trace)");
  const internal = result.internalError;
  return {
    version: RUN_FILE_VERSION,
    meta: {
      scenario: description.scenario,
      design: description.design,
      defects: [...description.defects],
      seed: description.seed,
      strategy: description.strategy,
      status: result.status,
      steps: result.steps,
      timeNs: result.timeNs,
    },
    tasks: trace.tasks.map((t) => ({ ...t, group: { kind: t.group.kind, name: t.group.name } })),
    entries: [...trace.entries],
    violations: result.violations.map((v) => ({ ...v, details: jsonSafe(v.details) })),
    ...(internal === null
      ? {}
      : { internalError: { message: internal.message, step: internal.step, task: internal.task } }),
    ...(report === undefined ? {} : { report }),
    ...(slice === undefined
      ? {}
      : {
          slice: {
            steps: [...slice.steps],
            windowStart: slice.windowStart,
            setupEnd: slice.setupEnd,
            objects: [...slice.objects],
            rows: slice.rows.map((r) => ({ step: r.step, task: r.task, text: r.text })),
          },
        }),
    snapshots: [...snapshots].sort((a, b) => a.step - b.step),
  };
}

/** The run file as text: stable (keys in build order), one JSON document. */
export function serializeRunFile(run: RunFile): string {
  return JSON.stringify(run) + "\n";
}

/**
 * Violation details are free-form: keep what JSON can say. Bigints become strings,
 * functions and undefined vanish, an object met twice (shared or cyclic) is cut the second
 * time.
 */
function jsonSafe(details: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const seen = new WeakSet<object>();
  const text = JSON.stringify(details, (_key, value: unknown) => {
    if (typeof value === "bigint") return value.toString();
    if (typeof value === "object" && value !== null) {
      if (seen.has(value)) return "[repeated]";
      seen.add(value);
    }
    return value;
  });
  return JSON.parse(text) as Record<string, unknown>;
}
