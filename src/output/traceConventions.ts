/**
 * The conventions by which model code's trace events become operations (slices), flows
 * and counters in the Perfetto export and the viewer.
 *
 * Models no kernel file. Model code only calls `k.event(label, fields)`; these rules say
 * which labels and fields mean more than an instant:
 *
 * - **Operations.** An event labelled `NAME:begin`, or with `fields.ph === "B"`, opens
 *   operation NAME (the label without the suffix) on the emitting task. An event
 *   labelled `NAME:end`, or with `fields.ph === "E"`, closes the innermost open NAME of
 *   the same task. An end that skips inner operations closes them too (marked
 *   `truncated`); an end with nothing to close is kept as an instant (`unmatched`); an
 *   operation still open when the trace ends is `unfinished`. The begin event's other
 *   fields become the operation's arguments. Operations span whole steps: code between
 *   two yields is atomic, so finer placement would mean nothing.
 * - **Flows.** An event with `fields.flow = ID` (string or number) is a point of flow ID;
 *   `fields.flowPhase` is `"start"`, `"step"` (the default) or `"end"`. A start opens a
 *   new instance of ID (ending any open one), an end closes it, so an ID may be reused
 *   for the next fault. An instance not closed ends at its last point; an instance of a
 *   single point links nothing and is dropped. Example: the NIC raises a fault with
 *   `{flow: 3, flowPhase: "start"}`, the driver's handler emits `{flow: 3}` and the QP
 *   resume `{flow: 3, flowPhase: "end"}`. (The invalidations that race a fault are
 *   linked to it by faultRaces.ts, from the fault's and the invalidation's ranges.)
 * - **Counters.** An event with `fields.counter = NAME` and a numeric `fields.value`
 *   sets counter NAME (pages mapped per MR, faults in flight) from then on.
 * - **Object accesses.** `fields.reads`, `writes`, `creates`, `gets` and `puts` list the
 *   objects an event touched (src/sim/objectAccess.ts), for the race report's causal
 *   slice; here they are ordinary arguments.
 */
import type { TraceEntry, TraceFields } from "../sim/trace.ts";

/** Field names the conventions reserve (left out of an operation's arguments). */
export const CONVENTION_FIELDS: ReadonlySet<string> = new Set([
  "ph",
  "flow",
  "flowPhase",
  "counter",
  "value",
]);

export interface OperationEdge {
  readonly edge: "begin" | "end";
  readonly name: string;
}

/** Whether `entry` opens or closes an operation, and which. */
export function operationEdge(entry: TraceEntry): OperationEdge | null {
  if (entry.kind !== "event") return null;
  const ph = entry.fields?.ph;
  if (entry.label.endsWith(":begin")) return { edge: "begin", name: entry.label.slice(0, -6) };
  if (entry.label.endsWith(":end")) return { edge: "end", name: entry.label.slice(0, -4) };
  if (ph === "B") return { edge: "begin", name: entry.label };
  if (ph === "E") return { edge: "end", name: entry.label };
  return null;
}

export interface Operation {
  readonly task: number;
  readonly name: string;
  /** Index in the entries of the begin event. */
  readonly beginIndex: number;
  readonly beginStep: number;
  /** Index of the end event, or -1 when unfinished. */
  readonly endIndex: number;
  /** The step of the end event, or the trace's last step when unfinished. */
  readonly endStep: number;
  /** Operations open on the task when this one began. */
  readonly depth: number;
  readonly fields: TraceFields;
  readonly endFields: TraceFields;
  /** Closed by the end of an enclosing operation, not its own. */
  readonly truncated: boolean;
  readonly unfinished: boolean;
}

export interface DerivedOperations {
  /** In the order they began. */
  readonly operations: readonly Operation[];
  /** Indices of end events that closed nothing. */
  readonly unmatchedEnds: readonly number[];
}

interface OpenOperation {
  readonly task: number;
  readonly name: string;
  readonly beginIndex: number;
  readonly beginStep: number;
  readonly depth: number;
  readonly fields: TraceFields;
  closed: Operation | null;
}

/** Matches begin and end events per task into properly nested operations. */
export function deriveOperations(entries: readonly TraceEntry[]): DerivedOperations {
  const open = new Map<number, OpenOperation[]>();
  const all: OpenOperation[] = [];
  const unmatchedEnds: number[] = [];
  const lastStep = entries.reduce((max, e) => Math.max(max, e.step), 0);
  entries.forEach((entry, index) => {
    const edge = operationEdge(entry);
    if (edge === null) return;
    const stack = open.get(entry.task) ?? [];
    open.set(entry.task, stack);
    if (edge.edge === "begin") {
      const op: OpenOperation = {
        task: entry.task,
        name: edge.name,
        beginIndex: index,
        beginStep: entry.step,
        depth: stack.length,
        fields: argumentsOf(entry.fields),
        closed: null,
      };
      stack.push(op);
      all.push(op);
      return;
    }
    const at = stack.map((op) => op.name).lastIndexOf(edge.name);
    if (at < 0) {
      unmatchedEnds.push(index);
      return;
    }
    // The first closed is the one named; the rest were inside it and end with it.
    stack.splice(at).forEach((op, i) => {
      const endFields = i === 0 ? argumentsOf(entry.fields) : {};
      op.closed = close(op, index, entry.step, endFields, i !== 0);
    });
  });
  const operations = all.map(
    (op) =>
      op.closed ?? {
        ...close(op, -1, lastStep, {}, false),
        unfinished: true,
      },
  );
  return { operations, unmatchedEnds };
}

function close(
  op: OpenOperation,
  endIndex: number,
  endStep: number,
  endFields: TraceFields,
  truncated: boolean,
): Operation {
  return {
    task: op.task,
    name: op.name,
    beginIndex: op.beginIndex,
    beginStep: op.beginStep,
    endIndex,
    endStep,
    depth: op.depth,
    fields: op.fields,
    endFields,
    truncated,
    unfinished: false,
  };
}

/** An event's fields without the ones the conventions reserve. */
export function argumentsOf(fields: TraceFields | undefined): TraceFields {
  if (fields === undefined) return {};
  return Object.fromEntries(Object.entries(fields).filter(([k]) => !CONVENTION_FIELDS.has(k)));
}

export type FlowPhase = "s" | "t" | "f";

export interface FlowPoint {
  /** Index of the event in the entries. */
  readonly index: number;
  readonly phase: FlowPhase;
}

export interface Flow {
  /** Unique per instance, from 1, in the order instances started. */
  readonly id: number;
  /** The `flow` field as the model wrote it. */
  readonly key: string;
  readonly points: readonly FlowPoint[];
}

/** Groups flow events into instances, each with one start, steps, and one end. */
export function deriveFlows(entries: readonly TraceEntry[]): Flow[] {
  const open = new Map<string, number[]>();
  const instances: { key: string; indices: number[] }[] = [];
  const begin = (key: string): number[] => {
    const indices: number[] = [];
    instances.push({ key, indices });
    open.set(key, indices);
    return indices;
  };
  entries.forEach((entry, index) => {
    const id = entry.fields?.flow;
    if (entry.kind !== "event" || (typeof id !== "string" && typeof id !== "number")) return;
    const key = String(id);
    const phase = entry.fields?.flowPhase;
    const current = phase === "start" ? begin(key) : (open.get(key) ?? begin(key));
    current.push(index);
    if (phase === "end") open.delete(key);
  });
  return instances
    .filter((inst) => inst.indices.length >= 2)
    .map((inst, n) => ({
      id: n + 1,
      key: inst.key,
      points: inst.indices.map((index, i) => ({
        index,
        phase: i === 0 ? "s" : i === inst.indices.length - 1 ? "f" : "t",
      })),
    }));
}

export interface CounterSample {
  readonly name: string;
  readonly value: number;
}

/** The counter an event sets, if it follows the counter convention. */
export function counterOf(entry: TraceEntry): CounterSample | null {
  if (entry.kind !== "event") return null;
  const name = entry.fields?.counter;
  const value = entry.fields?.value;
  if (typeof name !== "string" || typeof value !== "number" || !Number.isFinite(value)) {
    return null;
  }
  return { name, value };
}
