/**
 * The rows of a race report: what each step that matters did, with its values, under
 * the kernel function's name (`mlx5_ib_update_xlt: mkey 322, MTT[0] = pfn 5`).
 *
 * Models no kernel file. Two tables come from one trace: the causal slice (slice.ts),
 * where a row is one slice step and says what its events read and wrote, and the
 * whole-run table (`--full`), where every labelled step and every event is a row.
 */
import {
  accessesOf,
  CREATES_FIELD,
  GETS_FIELD,
  overlaps,
  PUTS_FIELD,
  READS_FIELD,
  WRITES_FIELD,
} from "../sim/objectAccess.ts";
import type { TraceEntry, TraceFieldValue } from "../sim/trace.ts";

export interface ReportRow {
  readonly step: number;
  readonly task: number;
  readonly column: number;
  readonly kind: "step" | "event" | "violation";
  readonly text: string;
  /** A run of identical rows of one task folded into this one: how many, to which step. */
  readonly repeats?: { readonly count: number; readonly lastStep: number };
}

/** Fields the text of an event leaves out: access lists and the trace's conventions. */
const HIDDEN_FIELDS: ReadonlySet<string> = new Set([
  READS_FIELD,
  WRITES_FIELD,
  CREATES_FIELD,
  GETS_FIELD,
  PUTS_FIELD,
  "flow",
  "flowPhase",
  "counter",
  "ph",
]);

/** Fields shown as their value alone (`kfree: umem_odp(explicit)#9`). */
const BARE_FIELDS: ReadonlySet<string> = new Set(["lock", "object"]);

/** Fields read as a noun and its value (`pfn 5`, `in zap_pte_range`), not `k = v`. */
const NOUN_FIELDS: ReadonlySet<string> = new Set(["pfn", "mkey", "key", "va", "mm", "in"]);

/** Fields holding addresses, shown in hex. */
const ADDRESS_FIELDS: ReadonlySet<string> = new Set(["va", "start", "end", "addr", "iova"]);

function valueText(key: string, value: TraceFieldValue): string {
  if (typeof value === "number" && ADDRESS_FIELDS.has(key) && Number.isInteger(value)) {
    return `0x${value.toString(16)}`;
  }
  return String(value);
}

/** One event as a phrase: `label: k = v, noun v`; a violation as `>>> kind`. */
export function eventText(e: TraceEntry): string {
  if (e.label === "violation") return `>>> ${String(e.fields?.["kind"] ?? "violation")}`;
  const parts = fieldsText(e);
  return parts === "" ? e.label : `${e.label}: ${parts}`;
}

function fieldsText(e: TraceEntry): string {
  return Object.entries(e.fields ?? {})
    .filter(([key]) => !HIDDEN_FIELDS.has(key))
    .map(([key, value]) => {
      if (BARE_FIELDS.has(key)) return valueText(key, value);
      if (NOUN_FIELDS.has(key)) return `${key} ${valueText(key, value)}`;
      return `${key} = ${valueText(key, value)}`;
    })
    .join(", ");
}

/** The events of one step as one phrase; neighbours under one function share its name. */
function stepText(events: readonly TraceEntry[]): string {
  const parts: string[] = [];
  let lastLabel: string | null = null;
  for (const e of events) {
    const fields = e.label === "violation" ? "" : fieldsText(e);
    const last = parts.at(-1);
    if (e.label === lastLabel && fields !== "" && last !== undefined) {
      parts[parts.length - 1] = `${last}; ${fields}`;
    } else {
      parts.push(eventText(e));
    }
    lastLabel = e.label;
  }
  return parts.join("; ");
}

/** The accesses of an event, its flow point included (as slice.ts counts them). */
function eventAccessIds(e: TraceEntry): string[] {
  const ids = accessesOf(e.fields).map((a) => a.id);
  const flow = e.fields?.["flow"];
  if (flow !== undefined && flow !== null) ids.push(`flow:${String(flow)}`);
  return ids;
}

/** An event a slice row shows: the violation, or one that touched what the step is in for. */
function shownInSlice(e: TraceEntry, reasons: readonly string[]): boolean {
  if (e.kind !== "event") return false;
  if (e.label === "violation") return true;
  if (e.fields?.["counter"] !== undefined) return false;
  return eventAccessIds(e).some((id) => reasons.some((r) => overlaps(id, r)));
}

/** One row per slice step of a task that has a column, identical neighbours folded. */
export function sliceRows(
  entries: readonly TraceEntry[],
  reasons: Readonly<Record<number, readonly string[]>>,
  steps: readonly number[],
  columnOf: ReadonlyMap<number, number>,
): ReportRow[] {
  const texts = new Map<number, { task: number; events: TraceEntry[]; violation: boolean }>();
  for (const e of entries) {
    const why = reasons[e.step];
    if (why === undefined || !shownInSlice(e, why)) continue;
    let row = texts.get(e.step);
    if (row === undefined) {
      row = { task: e.task, events: [], violation: false };
      texts.set(e.step, row);
    }
    // What the step did after it broke belongs to no story.
    if (e.task !== row.task || row.violation) continue;
    row.events.push(e);
    if (e.label === "violation") row.violation = true;
  }
  const rows: ReportRow[] = [];
  for (const step of steps) {
    const row = texts.get(step);
    const column = row === undefined ? undefined : columnOf.get(row.task);
    if (row === undefined || column === undefined) continue;
    const kind = row.violation ? "violation" : "event";
    rows.push({ step, task: row.task, column, kind, text: stepText(row.events) });
  }
  return foldRepeats(rows);
}

/** The longest loop body folded: a retry loop's fault, walk, check and update. */
const MAX_PERIOD = 8;

/**
 * A loop's rows: a block of up to MAX_PERIOD rows that the next rows repeat, block after
 * block (same tasks, same texts), is kept once, each of its rows with the count of its
 * repetitions and the step of its last; a single row repeated is the block of one. A
 * livelock's slice is the same few steps many times over; the story is one turn of it.
 */
function foldRepeats(rows: readonly ReportRow[]): ReportRow[] {
  const out: ReportRow[] = [];
  let i = 0;
  while (i < rows.length) {
    const fold = longestFold(rows, i);
    if (fold === null) {
      out.push(rows[i] as ReportRow);
      i++;
      continue;
    }
    const { period, times } = fold;
    for (let j = 0; j < period; j++) {
      const row = rows[i + j] as ReportRow;
      const lastStep = (rows[i + j + period * (times - 1)] as ReportRow).step;
      out.push({ ...row, repeats: { count: times, lastStep } });
    }
    i += period * times;
  }
  return out;
}

/** The block at `at` that repeats most rows' worth (at least twice), or null. */
function longestFold(
  rows: readonly ReportRow[],
  at: number,
): { period: number; times: number } | null {
  let best: { period: number; times: number } | null = null;
  for (let period = 1; period <= MAX_PERIOD && at + 2 * period <= rows.length; period++) {
    let times = 1;
    while (sameBlock(rows, at, at + times * period, period)) times++;
    const covered = period * times;
    if (times >= 2 && (best === null || covered > best.period * best.times)) {
      best = { period, times };
    }
  }
  return best;
}

function sameBlock(rows: readonly ReportRow[], a: number, b: number, period: number): boolean {
  if (b + period > rows.length) return false;
  for (let j = 0; j < period; j++) {
    const x = rows[a + j] as ReportRow;
    const y = rows[b + j] as ReportRow;
    if (x.task !== y.task || x.text !== y.text || x.kind !== y.kind) return false;
  }
  return true;
}

/** Lockdep's events: in the whole-run table the lock steps' own labels say as much. */
const LOCK_EVENTS: ReadonlySet<string> = new Set(["lock_acquire", "lock_release"]);

/** Entries the whole-run table shows: labelled steps other than exits, and events. */
function shownInFull(e: TraceEntry): boolean {
  if (e.kind === "event") return e.fields?.["counter"] === undefined && !LOCK_EVENTS.has(e.label);
  return e.label !== "" && e.label !== "exit";
}

/** The whole-run table: every labelled step and event of the tasks with a column. */
export function fullRows(
  entries: readonly TraceEntry[],
  columnOf: ReadonlyMap<number, number>,
): ReportRow[] {
  const rows: ReportRow[] = [];
  for (const e of entries) {
    const column = columnOf.get(e.task);
    if (column === undefined || !shownInFull(e)) continue;
    const kind = e.kind === "step" ? "step" : e.label === "violation" ? "violation" : "event";
    const text = e.kind === "step" ? e.label : `* ${eventText(e)}`;
    rows.push({ step: e.step, task: e.task, column, kind, text });
  }
  // A step's label names the step; the events raised inside it read best below it.
  return rows.sort(
    (a, b) => a.step - b.step || Number(a.kind !== "step") - Number(b.kind !== "step"),
  );
}
