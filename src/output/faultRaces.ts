/**
 * Which invalidations raced which device page faults, read from a trace: the links the
 * Perfetto export draws as flows from a fault to each invalidation that overlapped it.
 *
 * Models no kernel file. A device page fault lasts from its `page_fault` event (fields
 * `flow`, `mm`, `va`, `bcnt`: the fault's flow id, the mm its MR maps, the faulting
 * range) to the `page_fault_resume` of the same flow, or to the end of the trace. An
 * invalidation lasts from `invalidate_range_start` to the next `invalidate_range_end` of
 * the same task (fields `mm`, `start`, `end`); a start with no end (a non-blockable
 * range refused with -EAGAIN) lasts until that task's next start, or the end of the
 * trace. Every notifier subscriber of an mm sees each of its invalidations, so an
 * invalidation of the fault's mm whose range overlaps the faulting range reaches the
 * faulting MR's umem: if the two also overlap in time, the invalidation raced the fault
 * (the fault's sequence check must see it, or its mapping must be zapped after).
 */
import type { TraceEntry } from "../sim/trace.ts";

/** One fault and one invalidation that overlapped it, by entry index. */
export interface FaultRace {
  /** The fault's flow id (the `flow` field of its events). */
  readonly faultFlow: string;
  /** Index of the `page_fault` event. */
  readonly faultIndex: number;
  /** Index of the `invalidate_range_start` event. */
  readonly invalidationIndex: number;
}

interface Interval {
  readonly mm: string;
  readonly start: number;
  readonly end: number;
  /** Entry indices: first and last (inclusive). */
  readonly from: number;
  to: number;
}

interface FaultInterval extends Interval {
  readonly flow: string;
}

function num(entry: TraceEntry, field: string): number | null {
  const v = entry.fields?.[field];
  return typeof v === "number" ? v : null;
}

function str(entry: TraceEntry, field: string): string | null {
  const v = entry.fields?.[field];
  return typeof v === "string" || typeof v === "number" ? String(v) : null;
}

/** The faults of the trace, each with its time span in entry indices. */
function faults(entries: readonly TraceEntry[]): FaultInterval[] {
  const out: FaultInterval[] = [];
  const open = new Map<string, FaultInterval>();
  entries.forEach((e, i) => {
    if (e.kind !== "event") return;
    const flow = str(e, "flow");
    if (flow === null) return;
    if (e.label === "page_fault") {
      const mm = str(e, "mm");
      const va = num(e, "va");
      const bcnt = num(e, "bcnt");
      if (mm === null || va === null || bcnt === null) return;
      const f = { flow, mm, start: va, end: va + Math.max(bcnt, 1), from: i, to: entries.length };
      out.push(f);
      open.set(flow, f);
    } else if (e.label === "page_fault_resume") {
      const f = open.get(flow);
      if (f !== undefined) f.to = i;
      open.delete(flow);
    }
  });
  return out;
}

/** The invalidations of the trace, each with its time span in entry indices. */
function invalidations(entries: readonly TraceEntry[]): Interval[] {
  const out: Interval[] = [];
  const open = new Map<number, Interval>();
  entries.forEach((e, i) => {
    if (e.kind !== "event") return;
    if (e.label === "invalidate_range_start") {
      const prev = open.get(e.task);
      if (prev !== undefined) prev.to = i;
      const mm = str(e, "mm");
      const start = num(e, "start");
      const end = num(e, "end");
      if (mm === null || start === null || end === null) return;
      const inv = { mm, start, end, from: i, to: entries.length };
      out.push(inv);
      open.set(e.task, inv);
    } else if (e.label === "invalidate_range_end") {
      const inv = open.get(e.task);
      if (inv !== undefined) inv.to = i;
      open.delete(e.task);
    }
  });
  return out;
}

/** Every (fault, invalidation) pair that overlapped in time, mm and address range. */
export function deriveFaultRaces(entries: readonly TraceEntry[]): FaultRace[] {
  const invs = invalidations(entries);
  const races: FaultRace[] = [];
  for (const f of faults(entries)) {
    for (const inv of invs) {
      const sameRange = inv.mm === f.mm && inv.start < f.end && f.start < inv.end;
      const sameTime = inv.from < f.to && f.from < inv.to;
      if (sameRange && sameTime) {
        races.push({ faultFlow: f.flow, faultIndex: f.from, invalidationIndex: inv.from });
      }
    }
  }
  return races;
}
