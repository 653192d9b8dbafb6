/**
 * Race reports: a failing run, replayed with the trace on, reduced to the steps that
 * matter to its violation (the causal slice, slice.ts) and drawn the way kernel
 * developers draw races in commit messages, one column per task, time going down:
 *
 *     step  kworker#0                          cpu#3
 *       46  pagefault_mr: notifiers_seq = 4
 *       52                                     ib_umem_notifier_start_account:
 *                                                notifiers_count = 1
 *       63  mlx5_ib_update_xlt: mkey 322,
 *             MTT[0] = pfn 5
 *
 * followed by the violation, the allocation and free sites of what it names, the other
 * evidence, and the bug's depth (renderReport.ts draws it). With `full`, the report is
 * instead the whole-run table: every labelled step and event of the tasks that
 * interleaved last.
 *
 * Models no kernel file.
 */
import { DEFAULT_RUN_TIMING, type Timing } from "../sim/timing.ts";
import type { ObjectSite } from "../sim/kasan.ts";
import { accessesOf, overlaps } from "../sim/objectAccess.ts";
import type { TraceEntry, TraceTaskInfo } from "../sim/trace.ts";
import type { Violation } from "../sim/violation.ts";
import { replayRecorded, type RecordedRun } from "./replay.ts";
import { fullRows, sliceRows, type ReportRow } from "./reportRows.ts";
import type { Scenario } from "./scenario.ts";
import { pctBound, type PctBound } from "./shrink.ts";
import { causalSlice, taskIdOf, type CausalSlice } from "./slice.ts";

export type { ReportRow } from "./reportRows.ts";

export interface ReportColumn {
  readonly task: number;
  readonly label: string;
}

/** Where a frame the violation names was allocated or freed, and by which function. */
export interface FrameSite {
  readonly object: string;
  readonly what: "allocated" | "freed";
  readonly task: string;
  readonly step: number;
  readonly fn: string;
}

/** The JSON form of a race report. */
export interface RaceReport {
  readonly scenario: string;
  readonly seed: number;
  readonly steps: number;
  readonly preemptions: number;
  readonly pctBound: PctBound;
  /** `slice`: the causal slice; `full`: the whole-run table. */
  readonly table: "slice" | "full";
  readonly columns: readonly ReportColumn[];
  readonly rows: readonly ReportRow[];
  readonly slice: CausalSlice;
  readonly violation: Violation | null;
  /** The allocation and free of the object a use-after-free names. */
  readonly allocated: ObjectSite | null;
  readonly freed: ObjectSite | null;
  /** The allocations and frees of the frames the violation names. */
  readonly frameSites: readonly FrameSite[];
  readonly traceHash: string;
  /** Faults the run injected (by site), and the scenario parts it left out. */
  readonly faultsInjected: readonly string[];
  readonly omitted: readonly string[];
  /** What produced the run: where the scenario came from, its design, defects, timing. */
  readonly source: string;
  readonly design: string | null;
  readonly defects: readonly string[];
  readonly timing: Timing;
}

export interface RaceReportOptions {
  /** The whole-run table instead of the causal slice. */
  readonly full?: boolean;
}

/** At most this many columns in the whole-run table (so it stays readable). */
const FULL_COLUMNS = 4;

/** Replays `run` with the trace on and builds its report. */
export function buildRaceReport(
  scenario: Scenario,
  run: RecordedRun,
  options: RaceReportOptions = {},
): RaceReport {
  const replayed = replayRecorded(scenario, run, true);
  const trace = replayed.result.trace;
  if (trace === null) throw new Error(`scenario ${scenario.name} ignores ctx.trace`);
  const violation = replayed.violations[0] ?? null;
  const slice = causalSlice(trace, violation);
  const full = options.full === true;
  const { columns, rows } = full
    ? fullTable(trace.entries, violation, trace.tasks)
    : sliceTable(trace.entries, slice);
  return {
    scenario: scenario.name,
    seed: run.seed,
    steps: replayed.result.steps,
    preemptions: replayed.preemptions,
    pctBound: pctBound(trace.tasks.length, replayed.choicePoints, replayed.preemptions),
    table: full ? "full" : "slice",
    columns: columns.map((id) => ({ task: id, label: taskLabel(trace.tasks, id) })),
    rows,
    slice,
    violation,
    allocated: siteOf(violation?.details["allocated"]),
    freed: siteOf(violation?.details["freed"]),
    frameSites: frameSites(trace.entries, trace.tasks, slice, violation),
    traceHash: trace.hash(),
    faultsInjected: trace.entries
      .filter((e) => e.kind === "event" && e.label === "fault_injected")
      .map((e) => `${String(e.fields?.["site"])} at step ${e.step}`),
    omitted: run.omit ?? [],
    source: scenario.file ?? "built in",
    design: run.design ?? null,
    defects: run.defects ?? [],
    timing: run.timing ?? DEFAULT_RUN_TIMING,
  };
}

function taskLabel(tasks: readonly TraceTaskInfo[], id: number): string {
  const t = tasks.find((x) => x.id === id);
  return t === undefined ? `?#${id}` : `${t.name}#${id}`;
}

function siteOf(value: unknown): ObjectSite | null {
  if (typeof value !== "object" || value === null) return null;
  const site = value as Partial<ObjectSite>;
  if (typeof site.step !== "number") return null;
  return { task: typeof site.task === "string" ? site.task : null, step: site.step };
}

interface Table {
  readonly columns: readonly number[];
  readonly rows: readonly ReportRow[];
}

/** The slice's rows, a column for each task with one (a timer's steps, task -1, have none). */
function sliceTable(entries: readonly TraceEntry[], slice: CausalSlice): Table {
  const anyTask = new Map<number, number>();
  for (const e of entries) if (e.task >= 0) anyTask.set(e.task, e.task);
  const rows = sliceRows(entries, slice.reasons, slice.steps, anyTask);
  const columns = [...new Set(rows.map((r) => r.task))].sort((a, b) => a - b);
  return { columns, rows: rows.map((r) => ({ ...r, column: columns.indexOf(r.task) })) };
}

function fullTable(
  entries: readonly TraceEntry[],
  violation: Violation | null,
  tasks: readonly TraceTaskInfo[],
): Table {
  const columns = fullColumns(entries, violation, tasks);
  return { columns, rows: fullRows(entries, new Map(columns.map((id, i) => [id, i] as const))) };
}

/** The tasks the violation names, then those whose labelled steps came last. */
function fullColumns(
  entries: readonly TraceEntry[],
  violation: Violation | null,
  tasks: readonly TraceTaskInfo[],
): number[] {
  const key: number[] = [];
  for (const name of namedTasks(violation)) {
    const id = taskIdOf(name);
    if (id !== null && tasks.some((t) => t.id === id) && !key.includes(id)) key.push(id);
  }
  const last = new Map<number, number>();
  entries.forEach((e, i) => {
    if (e.task >= 0 && (e.kind === "event" || (e.label !== "" && e.label !== "exit"))) {
      last.set(e.task, i);
    }
  });
  const others = [...last.keys()]
    .filter((id) => !key.includes(id))
    .sort((a, b) => (last.get(b) ?? 0) - (last.get(a) ?? 0));
  return [...key, ...others].slice(0, FULL_COLUMNS).sort((a, b) => a - b);
}

/** Task labels a violation's evidence names (sites, deadlocked tasks). */
function namedTasks(violation: Violation | null): string[] {
  if (violation === null) return [];
  const names: string[] = [];
  if (violation.task !== null) names.push(violation.task);
  for (const key of ["allocated", "freed"]) {
    const task = siteOf(violation.details[key])?.task;
    if (task !== undefined && task !== null) names.push(task);
  }
  const blocked = violation.details["blocked"];
  if (Array.isArray(blocked)) {
    for (const b of blocked as unknown[]) {
      const task = (b as { task?: unknown } | null)?.task;
      if (typeof task === "string") names.push(task);
    }
  }
  return names;
}

/** The `page allocated` / `page freed` events of the frames the slice names. */
function frameSites(
  entries: readonly TraceEntry[],
  tasks: readonly TraceTaskInfo[],
  slice: CausalSlice,
  violation: Violation | null,
): FrameSite[] {
  const frames = slice.objects.filter((id) => id.startsWith("pfn["));
  if (frames.length === 0 || violation === null) return [];
  const all: FrameSite[] = [];
  for (const e of entries) {
    if (e.step > violation.step) break;
    if (e.kind !== "event" || (e.label !== "page allocated" && e.label !== "page freed")) continue;
    const written = accessesOf(e.fields).filter((a) => a.write);
    const object = frames.find((f) => written.some((a) => overlaps(a.id, f)));
    if (object === undefined) continue;
    all.push({
      object,
      what: e.label === "page allocated" ? "allocated" : "freed",
      task: taskLabel(tasks, e.task),
      step: e.step,
      fn: String(e.fields?.["in"] ?? "?"),
    });
  }
  // From the allocation the window starts with (or follows): earlier lives do not matter.
  const born = all.findLastIndex((s) => s.what === "allocated" && s.step <= slice.windowStart);
  return all.slice(Math.max(0, born));
}

/** The report as JSON text. */
export function raceReportJson(report: RaceReport): string {
  return JSON.stringify(report, null, 2);
}
