/**
 * The viewer's pure logic: lane layout, the step under a pixel, the snapshot at a step.
 *
 * Models no kernel file. Kept free of the DOM so the node tests can check it; the
 * components only draw what these functions compute.
 */
import type { RunFile, Snapshot } from "../../src/output/runFile.ts";
import type { TraceEntry, TraceTaskInfo } from "../../src/sim/trace.ts";

export const PAGE_SIZE = 0x1000;
const GROUP_ORDER = ["host", "process", "device"];

export interface LaneGroup {
  readonly kind: string;
  readonly name: string;
  readonly tasks: readonly TraceTaskInfo[];
}

/** Tasks grouped by host / process / device (in that order), groups and tasks by id. */
export function laneGroups(tasks: readonly TraceTaskInfo[]): LaneGroup[] {
  const groups = new Map<string, { kind: string; name: string; tasks: TraceTaskInfo[] }>();
  for (const t of tasks) {
    const key = `${t.group.kind}\u0000${t.group.name}`;
    let g = groups.get(key);
    if (g === undefined) {
      g = { kind: t.group.kind, name: t.group.name, tasks: [] };
      groups.set(key, g);
    }
    g.tasks.push(t);
  }
  const rank = (kind: string) => {
    const i = GROUP_ORDER.indexOf(kind);
    return i < 0 ? GROUP_ORDER.length : i;
  };
  return [...groups.values()].sort((a, b) => rank(a.kind) - rank(b.kind));
}

/** The last step the cursor can reach: the last step run, or a later violation's. */
export function lastStep(run: RunFile): number {
  const fromViolations = run.violations.reduce((max, v) => Math.max(max, v.step), 0);
  return Math.max(run.meta.steps - 1, fromViolations, 0);
}

/** Steps are equal-width columns across `width` pixels. */
export function stepAtX(x: number, width: number, steps: number): number {
  if (width <= 0 || steps <= 0) return 0;
  return Math.min(steps - 1, Math.max(0, Math.floor((x / width) * steps)));
}

export function xOfStep(step: number, width: number, steps: number): number {
  return steps <= 0 ? 0 : (step / steps) * width;
}

/** The latest snapshot taken at or before `step`, or null (snapshots sorted by step). */
export function snapshotAt(snapshots: readonly Snapshot[], step: number): Snapshot | null {
  let lo = 0;
  let hi = snapshots.length - 1;
  let found: Snapshot | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const snap = snapshots[mid] as Snapshot;
    if (snap.step <= step) {
      found = snap;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** The step entry of every step, indexed by step. */
export function stepEntries(entries: readonly TraceEntry[]): (TraceEntry | undefined)[] {
  const byStep: (TraceEntry | undefined)[] = [];
  for (const e of entries) if (e.kind === "step") byStep[e.step] = e;
  return byStep;
}

/** Everything recorded at `step`, in order. */
export function entriesAt(entries: readonly TraceEntry[], step: number): TraceEntry[] {
  return entries.filter((e) => e.step === step);
}

export function hex(n: number | null): string {
  return n === null ? "—" : `0x${n.toString(16)}`;
}

/** Where a page sits in its VMA's band: slot index, or -1 when the band is too long. */
export function pageSlot(vmaStart: number, vmaEnd: number, va: number, maxSlots: number): number {
  const slots = Math.ceil((vmaEnd - vmaStart) / PAGE_SIZE);
  if (slots > maxSlots) return -1;
  return Math.floor((va - vmaStart) / PAGE_SIZE);
}
