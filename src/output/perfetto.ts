/**
 * Exports a trace as Chrome trace-event JSON, which ui.perfetto.dev and chrome://tracing
 * open.
 *
 * Models no kernel file (it plays the part of the kernel's ftrace/perf exporters). The
 * layout:
 *
 * - a process (`pid`) per task group, hosts first, then processes, then devices, each
 *   named by `process_name` / ordered by `process_sort_index` metadata; a thread (`tid`
 *   = task id + 1) per task, named `name#id`. Events outside any task (timers, the
 *   deadlock check) go to an extra `odpsim scheduler` process.
 * - a complete slice (`X`, cat `step`) per scheduler step, named by the label the task
 *   yielded, so every step is visible; operations (see `traceConventions.ts`) are
 *   slices (cat `op`) spanning the steps from their begin to their end event (a step in
 *   which one operation ends and the task's next one begins belongs to the next).
 * - an instant (`i`, thread scope, cat `event`) per other event, with its fields as
 *   arguments; an instant (cat `violation`) per violation, with its message and details.
 * - flows (`s` / `t` / `f`, cat `flow`, bound to the enclosing slice) per flow instance
 *   (a device fault to its QP's resume), and one flow named `race FLOW` from each fault
 *   to each invalidation that raced it (faultRaces.ts); counters (`C`) per counter
 *   event, on the emitting task's process, and `pages mapped UMEM` per ODP umem
 *   (mappedPages.ts).
 *
 * Time (`ts`, microseconds, fractional). Several steps often share one virtual instant,
 * and each trace entry needs its own place. Two modes:
 * - `combined` (default): entry i sits at `max(its virtual ns, entry i-1 + 2 ns)`; virtual
 *   time is kept wherever it moves faster than the steps, equal-time entries are spread
 *   2 ns apart (Perfetto's resolution is 1 ns), and a step's slice spans its entries
 *   ± 1 ns. The true virtual time is in every slice's `args.timeNs`.
 * - `step`: step N occupies [N µs, N+1 µs): the timeline reads in steps.
 */
import type { TraceEntry, TraceTaskInfo } from "../sim/trace.ts";
import type { RunViolation } from "./runFile.ts";
import {
  argumentsOf,
  counterOf,
  deriveFlows,
  deriveOperations,
  operationEdge,
  type FlowPoint,
  type Operation,
} from "./traceConventions.ts";
import { deriveFaultRaces, type FaultRace } from "./faultRaces.ts";
import { MappedPages } from "./mappedPages.ts";
import { VIOLATION_EVENT } from "./snapshotRecorder.ts";

export type PerfettoTimeMode = "combined" | "step";

export interface PerfettoOptions {
  readonly timeMode?: PerfettoTimeMode;
}

/** What the exporters read: a `Trace` or a loaded run file both fit. */
export interface TraceLike {
  readonly tasks: readonly TraceTaskInfo[];
  readonly entries: readonly TraceEntry[];
}

export type TraceEventPhase = "X" | "i" | "s" | "t" | "f" | "C" | "M";

/** One Chrome trace event. `ts` and `dur` are microseconds. */
export interface TraceEvent {
  readonly name: string;
  readonly ph: TraceEventPhase;
  readonly pid: number;
  readonly tid?: number;
  readonly ts?: number;
  readonly dur?: number;
  readonly cat?: string;
  /** Instant scope: thread. */
  readonly s?: "t";
  readonly id?: number;
  /** Flow end binds to the enclosing slice. */
  readonly bp?: "e";
  readonly args?: Readonly<Record<string, unknown>>;
}

export interface ChromeTrace {
  readonly traceEvents: readonly TraceEvent[];
  readonly displayTimeUnit: "ns";
  readonly otherData: Readonly<Record<string, string>>;
}

const GROUP_ORDER = ["host", "process", "device"];
const STEP_SLOT_NS = 1000;
const SCHEDULER_GROUP = { kind: "odpsim", name: "scheduler" } as const;

/** The Chrome trace of `trace`, with `violations` as instants. */
export function toChromeTrace(
  trace: TraceLike,
  violations: readonly RunViolation[] = [],
  options: PerfettoOptions = {},
): ChromeTrace {
  const mode = options.timeMode ?? "combined";
  const ticks = entryTicks(trace.entries, mode);
  const tracks = new Tracks(trace.tasks);
  const spans = stepSpans(trace.entries, ticks);
  const events: TraceEvent[] = [];
  const endNs = (ticks.at(-1) ?? 0) + 1;

  // Operations before steps: at equal start and length the operation is the parent.
  const { operations, unmatchedEnds } = deriveOperations(trace.entries);
  const begins = new Map(operations.map((op) => [op.beginIndex, op] as const));
  for (const op of operations) {
    const start = spans.get(spanKey(op.beginStep, op.task))?.start ?? 0;
    const endSpan = spans.get(spanKey(op.endStep, op.task));
    // A step where this operation ends and the task's next one begins is the next one's.
    const handedOn = !op.unfinished && nextBeginsInStep(trace.entries, begins, op);
    const end = op.unfinished ? endNs : ((handedOn ? endSpan?.start : endSpan?.end) ?? endNs);
    events.push({
      ...tracks.at(op.task),
      ph: "X",
      cat: "op",
      name: op.name,
      ts: us(start),
      dur: us(end - start),
      args: {
        ...op.fields,
        beginStep: op.beginStep,
        endStep: op.endStep,
        ...(Object.keys(op.endFields).length > 0 ? { end: op.endFields } : {}),
        ...(op.truncated ? { truncated: true } : {}),
        ...(op.unfinished ? { unfinished: true } : {}),
      },
    });
  }

  for (const span of spans.values()) {
    const step = span.stepEntry;
    events.push({
      ...tracks.at(span.task),
      ph: "X",
      cat: "step",
      name: step === null ? "(task died)" : step.label === "" ? "(yield)" : step.label,
      ts: us(span.start),
      dur: us(span.end - span.start),
      args: { step: span.step, timeNs: span.timeNs },
    });
  }

  const unmatched = new Set(unmatchedEnds);
  let violationIndex = 0;
  const mapped = new MappedPages();
  /** Each umem's counter stays on the track group of its first mapping. */
  const mappedPid = new Map<string, number>();
  trace.entries.forEach((entry, i) => {
    if (entry.kind !== "event") return;
    const at = { ...tracks.at(entry.task), ts: us(ticks[i] ?? 0) };
    const sample = mapped.observe(entry);
    if (sample !== null) {
      const pid = mappedPid.get(sample.umem) ?? at.pid;
      mappedPid.set(sample.umem, pid);
      events.push({ pid, ts: at.ts, ph: "C", name: sample.name, args: { value: sample.value } });
    }
    const counter = counterOf(entry);
    if (counter !== null) {
      events.push({
        pid: at.pid,
        ts: at.ts,
        ph: "C",
        name: counter.name,
        args: { value: counter.value },
      });
      return;
    }
    if (entry.label === VIOLATION_EVENT) {
      events.push(violationInstant(at, entry, violations[violationIndex]));
      violationIndex++;
      return;
    }
    if (operationEdge(entry) !== null && !unmatched.has(i)) return;
    events.push({
      ...at,
      ph: "i",
      s: "t",
      cat: "event",
      name: entry.label,
      args: {
        ...argumentsOf(entry.fields),
        step: entry.step,
        timeNs: entry.timeNs,
        ...(unmatched.has(i) ? { unmatched: true } : {}),
      },
    });
  });
  // Violations with no event in the trace (recorded while tracing was off).
  for (const v of violations.slice(violationIndex)) {
    events.push(violationInstant({ ...tracks.byLabel(v.task), ts: us(endNs) }, null, v));
  }

  const flows = deriveFlows(trace.entries);
  const races = deriveFaultRaces(trace.entries).map((race, n) => ({
    id: flows.length + n + 1,
    key: `race ${race.faultFlow}`,
    points: raceFlowPoints(race),
  }));
  for (const flow of [...flows, ...races]) {
    for (const point of flow.points) {
      const entry = trace.entries[point.index];
      if (entry === undefined) continue;
      events.push({
        ...tracks.at(entry.task),
        ph: point.phase,
        cat: "flow",
        name: flow.key,
        id: flow.id,
        ts: us(ticks[point.index] ?? 0),
        ...(point.phase === "f" ? { bp: "e" as const } : {}),
      });
    }
  }

  return {
    traceEvents: [...tracks.metadata(), ...sortEvents(events)],
    displayTimeUnit: "ns",
    otherData: {
      generator: "odpsim",
      timeMode: mode,
      timeNote:
        mode === "combined"
          ? "ts = virtual time, equal-time entries spread 2 ns apart; args.timeNs is exact"
          : "ts = step number in microseconds",
    },
  };
}

/** Whether another operation of `op`'s task begins after its end, in the same step. */
function nextBeginsInStep(
  entries: readonly TraceEntry[],
  begins: ReadonlyMap<number, Operation>,
  op: Operation,
): boolean {
  for (let i = op.endIndex + 1; i < entries.length; i++) {
    const e = entries[i];
    if (e === undefined || e.step !== op.endStep) return false;
    if (e.task === op.task && begins.get(i)?.depth === op.depth) return true;
  }
  return false;
}

/** A race as a two-point flow, from whichever of the fault and the invalidation began first. */
function raceFlowPoints(race: FaultRace): FlowPoint[] {
  const [first, second] = [race.faultIndex, race.invalidationIndex].sort((a, b) => a - b);
  return [
    { index: first ?? 0, phase: "s" },
    { index: second ?? 0, phase: "f" },
  ];
}

/** The export as text, ready for a `.json` file Perfetto opens. */
export function serializeChromeTrace(trace: ChromeTrace): string {
  return JSON.stringify(trace) + "\n";
}

function violationInstant(
  at: { pid: number; tid: number; ts: number },
  entry: TraceEntry | null,
  v: RunViolation | undefined,
): TraceEvent {
  const kind = v?.kind ?? String(entry?.fields?.kind ?? "unknown");
  return {
    ...at,
    ph: "i",
    s: "t",
    cat: "violation",
    name: `violation: ${kind}`,
    args: {
      kind,
      message: v?.message ?? String(entry?.fields?.message ?? ""),
      step: v?.step ?? entry?.step ?? null,
      timeNs: v?.timeNs ?? entry?.timeNs ?? null,
      ...(v === undefined ? {} : { details: v.details }),
    },
  };
}

/** The position of every entry in ns, non-decreasing, per the time mode. */
function entryTicks(entries: readonly TraceEntry[], mode: PerfettoTimeMode): number[] {
  const ticks: number[] = [];
  let prev = -1;
  let inStep = 0;
  let prevStep = -1;
  for (const e of entries) {
    if (mode === "combined") {
      // Whole ns (virtual time may be fractional), so slice edges round consistently.
      prev = Math.max(Math.round(e.timeNs), prev + 2);
    } else {
      inStep = e.step === prevStep ? inStep + 1 : 0;
      prevStep = e.step;
      prev = e.step * STEP_SLOT_NS + Math.min(2 * (inStep + 1), STEP_SLOT_NS - 2);
    }
    ticks.push(prev);
  }
  return ticks;
}

interface StepSpan {
  readonly step: number;
  readonly task: number;
  readonly timeNs: number;
  start: number;
  end: number;
  stepEntry: TraceEntry | null;
}

function spanKey(step: number, task: number): string {
  return `${step}/${task}`;
}

/** The entries of one task in one step, as an interval around their ticks. */
function stepSpans(
  entries: readonly TraceEntry[],
  ticks: readonly number[],
): Map<string, StepSpan> {
  const spans = new Map<string, StepSpan>();
  entries.forEach((e, i) => {
    if (e.task < 0) return;
    const tick = ticks[i] ?? 0;
    const key = spanKey(e.step, e.task);
    let span = spans.get(key);
    if (span === undefined) {
      span = {
        step: e.step,
        task: e.task,
        timeNs: e.timeNs,
        start: tick - 1,
        end: tick + 1,
        stepEntry: null,
      };
      spans.set(key, span);
    }
    span.end = tick + 1;
    if (e.kind === "step") span.stepEntry = e;
  });
  return spans;
}

/** pids per group and tids per task, and their metadata events. */
class Tracks {
  private readonly pids = new Map<string, number>();
  private readonly groups: { kind: string; name: string; pid: number }[] = [];
  private readonly tids = new Map<number, { pid: number; tid: number; name: string }>();
  private readonly byName = new Map<string, number>();
  private readonly schedulerTid: number;

  constructor(tasks: readonly TraceTaskInfo[]) {
    const rank = (kind: string) => {
      const i = GROUP_ORDER.indexOf(kind);
      return i < 0 ? GROUP_ORDER.length : i;
    };
    const ordered = [...tasks].sort((a, b) => rank(a.group.kind) - rank(b.group.kind));
    for (const t of ordered) this.pidOf(t.group);
    for (const t of tasks) {
      this.tids.set(t.id, { pid: this.pidOf(t.group), tid: t.id + 1, name: `${t.name}#${t.id}` });
      this.byName.set(`${t.name}#${t.id}`, t.id);
    }
    this.schedulerTid = tasks.reduce((max, t) => Math.max(max, t.id), -1) + 2;
  }

  /** The pid and tid of task `id`; unknown tasks (and -1) are the scheduler's. */
  at(id: number): { pid: number; tid: number } {
    const known = this.tids.get(id);
    if (known !== undefined) return { pid: known.pid, tid: known.tid };
    return { pid: this.pidOf(SCHEDULER_GROUP), tid: this.schedulerTid };
  }

  /** The track of the task a violation names by label (`name#id`). */
  byLabel(label: string | null): { pid: number; tid: number } {
    return this.at(label === null ? -1 : (this.byName.get(label) ?? -1));
  }

  metadata(): TraceEvent[] {
    const events: TraceEvent[] = [];
    this.groups.forEach((g, index) => {
      const name = `${g.kind} ${g.name}`;
      events.push({ ph: "M", name: "process_name", pid: g.pid, args: { name } });
      events.push({ ph: "M", name: "process_sort_index", pid: g.pid, args: { sort_index: index } });
    });
    for (const [id, t] of this.tids) {
      events.push({ ph: "M", name: "thread_name", pid: t.pid, tid: t.tid, args: { name: t.name } });
      events.push({
        ph: "M",
        name: "thread_sort_index",
        pid: t.pid,
        tid: t.tid,
        args: { sort_index: id },
      });
    }
    const scheduler = this.pids.get(groupKey(SCHEDULER_GROUP));
    if (scheduler !== undefined) {
      events.push({
        ph: "M",
        name: "thread_name",
        pid: scheduler,
        tid: this.schedulerTid,
        args: { name: "timers and checks (no task)" },
      });
    }
    return events;
  }

  private pidOf(group: { kind: string; name: string }): number {
    const key = groupKey(group);
    let pid = this.pids.get(key);
    if (pid === undefined) {
      pid = this.groups.length + 1;
      this.pids.set(key, pid);
      this.groups.push({ kind: group.kind, name: group.name, pid });
    }
    return pid;
  }
}

function groupKey(group: { kind: string; name: string }): string {
  return `${group.kind}\u0000${group.name}`;
}

/** By time; at equal time slices first, longer (enclosing) first, so nesting is clear. */
function sortEvents(events: readonly TraceEvent[]): TraceEvent[] {
  return events
    .map((event, order) => ({ event, order }))
    .sort((a, b) => {
      const dt = (a.event.ts ?? 0) - (b.event.ts ?? 0);
      if (dt !== 0) return dt;
      const ax = a.event.ph === "X" ? 0 : 1;
      const bx = b.event.ph === "X" ? 0 : 1;
      if (ax !== bx) return ax - bx;
      const dd = (b.event.dur ?? 0) - (a.event.dur ?? 0);
      return dd !== 0 ? dd : a.order - b.order;
    })
    .map((x) => x.event);
}

/** ns to µs, without binary noise (ticks are whole ns). */
function us(ns: number): number {
  return Math.round(ns) / 1000;
}
