/**
 * The causal slice of a failing run: the steps that matter to its violation, found by
 * walking the trace's object accesses (src/sim/objectAccess.ts) back from the step that
 * broke.
 *
 * Models no kernel file. Nothing here knows a catalog entry or a design: relevance comes
 * only from the objects events say they read and wrote, and from the violation.
 *
 * 1. The objects the violation names: those its details list (`objects`; the freed
 *    `object` of a use-after-free; an `mm`'s users; lockdep's lock classes or lock), or
 *    else what the violating step touched up to the violation (the locks it took on the
 *    way left out); for a deadlock, what each blocked task's last accessing event
 *    touched (the lock or count it waits on).
 * 2. The window: from the end of the setup phase (the first step of a task that a running
 *    task spawned) or, later, from the birth (`creates`) of a named object, up to the
 *    violation. A birth is a site under the diagram, not a row.
 * 3. The slice: the violating step; every step in the window that wrote a named object or
 *    read one of its parts (of a reference count, only the gets and puts a task's own
 *    operation does not balance); each read of the violating task that another task's
 *    write overtook before the violation, with that write (the interference that is the
 *    race); for each such step, the check it went ahead on (its task's last guard read
 *    at or before it); and the step that produced each value the steps' relevant events
 *    read (the last write before; one level). A flow (a device fault and the handler
 *    that serves it) counts as an object its start writes and its other points read.
 * 4. Stray guards: a task's guard-only steps that guard none of its other slice steps
 *    (after its last one, or in another operation, i.e. flow) are dropped.
 */
import {
  accessesOf,
  isGuard,
  isWithin,
  objectId,
  overlaps,
  type ObjectAccess,
} from "../sim/objectAccess.ts";
import { lockClassId } from "../sim/lockdep.ts";
import type { TraceEntry, TraceTaskInfo } from "../sim/trace.ts";
import type { Violation } from "../sim/violation.ts";

export interface CausalSlice {
  /** The steps of the slice, ascending. */
  readonly steps: readonly number[];
  /** The objects the violation names. */
  readonly objects: readonly string[];
  /** The first step of the window the slice was taken from (the violation ends it). */
  readonly windowStart: number;
  /** The first step after the setup phase (0 when the run has none). */
  readonly setupEnd: number;
  /** For each slice step, the object ids it is in the slice for. */
  readonly reasons: Readonly<Record<number, readonly string[]>>;
}

interface StepAccesses {
  readonly step: number;
  readonly task: number;
  readonly accesses: ObjectAccess[];
  /** The same accesses, event by event. */
  readonly events: ObjectAccess[][];
}

/** What a slice is taken from: the trace's tasks and entries. */
export interface SliceInput {
  readonly tasks: readonly TraceTaskInfo[];
  readonly entries: readonly TraceEntry[];
}

/** The causal slice of `violation` in `trace` (see the header). */
export function causalSlice(trace: SliceInput, violation: Violation | null): CausalSlice {
  const setupEnd = setupPhaseEnd(trace);
  const empty = { steps: [], objects: [], windowStart: setupEnd, setupEnd, reasons: {} };
  if (violation === null) return empty;
  const byStep = stepAccesses(trace.entries, violation.step);
  const culprit = taskIdOf(violation.task);
  const objects = namedObjects(violation, culprit, trace.entries);
  const start = windowStart(setupEnd, objects, byStep, violation.step);
  const walk = new SliceWalk(byStep, start, violation.step);
  if (culprit !== null) walk.add(violation.step, objects);
  walk.touching(objects);
  if (culprit !== null) walk.interference(culprit, flowOf(byStep, culprit, violation.step));
  // The values those steps used, and the checks that let them go ahead.
  walk.reliedGuards();
  walk.producers();
  const steps = dropStrayGuards(walk.steps(), byStep, walk.reasons, violation.step);
  const reasons = Object.fromEntries(steps.map((s) => [s, walk.reasons.get(s) ?? []]));
  return { steps, objects, windowStart: start, setupEnd, reasons };
}

/** The first step of a task spawned by a running task (setup spawns the run's actors). */
export function setupPhaseEnd(trace: SliceInput): number {
  const spawned = new Set(trace.tasks.filter((t) => t.parent !== null).map((t) => t.id));
  if (spawned.size === 0) return 0;
  for (const e of trace.entries) if (e.kind === "step" && spawned.has(e.task)) return e.step;
  return 0;
}

function isNamed(o: unknown): o is { object: string } {
  return (
    typeof o === "object" && o !== null && typeof (o as { object?: unknown }).object === "string"
  );
}

/** The task id in a task label (`name#id`), or null. */
export function taskIdOf(label: string | null): number | null {
  const m = label === null ? null : /#(\d+)$/.exec(label);
  return m === null ? null : Number(m[1]);
}

/** Every step's accesses up to `last`, flows included, indexed by step. */
function stepAccesses(entries: readonly TraceEntry[], last: number): Map<number, StepAccesses> {
  const out = new Map<number, StepAccesses>();
  for (const e of entries) {
    if (e.kind !== "event" || e.step > last) continue;
    const accesses = accessesOf(e.fields);
    const flow = e.fields?.["flow"];
    if (flow !== undefined && flow !== null) {
      const start = e.fields?.["flowPhase"] === "start";
      accesses.push({ id: `flow:${String(flow)}`, write: start, create: false, count: 0 });
    }
    if (accesses.length === 0) continue;
    let at = out.get(e.step);
    if (at === undefined) {
      at = { step: e.step, task: e.task, accesses: [], events: [] };
      out.set(e.step, at);
    }
    at.accesses.push(...accesses);
    at.events.push(accesses);
  }
  return out;
}

function namedObjects(
  violation: Violation,
  culprit: number | null,
  entries: readonly TraceEntry[],
): string[] {
  const ids = new Set<string>();
  const d = violation.details;
  // Object ids, or named objects with their sites (a leak's `{ object, allocated }`).
  if (Array.isArray(d["objects"])) {
    for (const o of d["objects"] as unknown[]) {
      if (typeof o === "string") ids.add(o);
      else if (isNamed(o)) ids.add(objectId(o.object));
    }
  }
  if (typeof d["object"] === "string") ids.add(objectId(d["object"]));
  // An address space by name: its users (mmStruct.ts: `mmId`).
  if (typeof d["mm"] === "string") ids.add(`mm:${objectId(d["mm"])}.users`);
  // Lockdep's reports name lock classes (`locks`) or one lock (`lock`).
  if (Array.isArray(d["locks"])) {
    for (const name of d["locks"]) if (typeof name === "string") ids.add(lockClassId(name));
  }
  if (typeof d["lock"] === "string") {
    const id = lockIdByName(entries, d["lock"]);
    if (id !== null) ids.add(id);
  }
  // Without a list, what the violating step touched, but not the locks it took on the way.
  if (ids.size === 0 && culprit !== null) {
    for (const a of accessesUpToViolation(entries, violation)) {
      if (!a.id.startsWith(LOCK_PREFIX)) ids.add(a.id);
    }
  }
  for (const task of blockedTasks(violation)) {
    for (const a of lastAccessEvent(entries, task, violation.step)) ids.add(a.id);
  }
  return [...ids];
}

/** The guard-id prefix of locks (src/sim/lockdep.ts: `lockId`). */
const LOCK_PREFIX = "~lock:";

/** The id the trace gives the lock named `name` (its lock_acquire events say). */
function lockIdByName(entries: readonly TraceEntry[], name: string): string | null {
  for (const e of entries) {
    if (e.label !== "lock_acquire" || e.fields?.["lock"] !== name) continue;
    const id = accessesOf(e.fields)[0]?.id;
    if (id !== undefined) return id;
  }
  return null;
}

/** The accesses of the last event of `task` that declared any, up to `last`. */
function lastAccessEvent(
  entries: readonly TraceEntry[],
  task: number,
  last: number,
): ObjectAccess[] {
  let found: ObjectAccess[] = [];
  for (const e of entries) {
    if (e.step > last) break;
    if (e.task !== task || e.kind !== "event") continue;
    const accesses = accessesOf(e.fields);
    if (accesses.length > 0) found = accesses;
  }
  return found;
}

/** The accesses of the violating step's events up to the violation event itself. */
function accessesUpToViolation(
  entries: readonly TraceEntry[],
  violation: Violation,
): ObjectAccess[] {
  const out: ObjectAccess[] = [];
  for (const e of entries) {
    if (e.step !== violation.step || e.kind !== "event") continue;
    if (e.label === "violation") break;
    out.push(...accessesOf(e.fields));
  }
  return out;
}

/** The ids of the tasks a deadlock report lists as blocked. */
function blockedTasks(violation: Violation): number[] {
  const blocked = violation.details["blocked"];
  if (!Array.isArray(blocked)) return [];
  const out: number[] = [];
  for (const b of blocked as unknown[]) {
    const label = (b as { task?: unknown } | null)?.task;
    const id = typeof label === "string" ? taskIdOf(label) : null;
    if (id !== null) out.push(id);
  }
  return out;
}

/** The setup's end, or the later birth of a named object the run created. */
function windowStart(
  setupEnd: number,
  objects: readonly string[],
  byStep: ReadonlyMap<number, StepAccesses>,
  violationStep: number,
): number {
  let start = setupEnd;
  for (const id of objects) {
    const first = firstAccess(byStep, id);
    if (first === null || !first.create || first.step >= violationStep) continue;
    start = Math.max(start, first.step);
  }
  return start;
}

function firstAccess(
  byStep: ReadonlyMap<number, StepAccesses>,
  id: string,
): { step: number; create: boolean } | null {
  for (const s of byStep.values()) {
    const a = s.accesses.find((x) => x.id === id);
    if (a !== undefined) return { step: s.step, create: a.create };
  }
  return null;
}

/**
 * Whether access `a` touches the named object `id`. A write of it or of what contains it
 * (a free of the whole) does, a read only of it itself: finding an MR by key is no read
 * of its counters, and the fields of an object freed under a use-after-free (its DMA
 * list, its interlock) are not its life. A guard (a lock class, an interlock) is touched
 * through any of its parts (each lock of the class).
 */
function touches(a: ObjectAccess, id: string): boolean {
  if (isGuard(id)) return a.write ? overlaps(a.id, id) : isWithin(a.id, id);
  return isWithin(id, a.id) && (a.write || isWithin(a.id, id));
}

/** Searches of the window [start, end] of one trace, collecting slice steps and why. */
class SliceWalk {
  private readonly inWindow: readonly StepAccesses[];
  readonly reasons = new Map<number, string[]>();

  constructor(
    byStep: ReadonlyMap<number, StepAccesses>,
    start: number,
    private readonly end: number,
  ) {
    this.inWindow = [...byStep.values()]
      .filter((s) => s.step >= start && s.step <= end)
      .sort((a, b) => a.step - b.step);
  }

  /** Puts `step` in the slice for `ids`; false if it already was for all of them. */
  add(step: number, ids: readonly string[]): boolean {
    const have = this.reasons.get(step);
    if (have === undefined) {
      this.reasons.set(step, [...ids]);
      return true;
    }
    const fresh = ids.filter((id) => !have.includes(id));
    have.push(...fresh);
    return fresh.length > 0;
  }

  steps(): number[] {
    return [...this.reasons.keys()].sort((a, b) => a - b);
  }

  /**
   * Steps that read or wrote one of `objects`; of a reference count, only the gets and
   * puts left once each task's balanced pairs within one operation are taken out.
   */
  touching(objects: readonly string[]): void {
    const balanced = this.balancedCounts();
    for (const s of this.inWindow) {
      const ids = s.accesses.filter(
        (a) =>
          !a.create && !balanced.has(`${s.step} ${a.id}`) && objects.some((id) => touches(a, id)),
      );
      if (ids.length > 0)
        this.add(
          s.step,
          ids.map((a) => a.id),
        );
    }
  }

  /** `step id` of each get matched by a later put of the same task, flow and count. */
  private balancedCounts(): Set<string> {
    const open = new Map<string, number[]>();
    const out = new Set<string>();
    const byStep = new Map(this.inWindow.map((s) => [s.step, s] as const));
    for (const s of this.inWindow) {
      for (const a of s.accesses) {
        if (a.count === 0) continue;
        const key = `${s.task} ${String(flowOf(byStep, s.task, s.step))} ${a.id}`;
        const gets = open.get(key) ?? [];
        open.set(key, gets);
        if (a.count > 0) {
          gets.push(s.step);
        } else if (gets.length > 0) {
          out.add(`${String(gets.pop())} ${a.id}`);
          out.add(`${s.step} ${a.id}`);
        }
      }
    }
    return out;
  }

  /**
   * Reads of `task` overtaken by another task's write before the end, and those writes;
   * only reads in the operation (flow) `task` was serving at the end, when it serves one.
   */
  interference(task: number, flow: string | null): void {
    const byStep = new Map(this.inWindow.map((s) => [s.step, s] as const));
    for (const s of this.inWindow) {
      if (s.task !== task) continue;
      if (flow !== null && flowOf(byStep, task, s.step) !== flow) continue;
      for (const read of s.accesses) {
        if (read.write || read.id.startsWith("flow:")) continue;
        for (const w of this.inWindow) {
          if (w.step <= s.step || w.step >= this.end || w.task === task) continue;
          const hit = w.accesses.filter((a) => a.write && overlaps(a.id, read.id));
          if (hit.length === 0) continue;
          this.add(s.step, [read.id]);
          this.add(
            w.step,
            hit.map((a) => a.id),
          );
        }
      }
    }
  }

  /**
   * The check each slice step went ahead on: its task's last guard read at or before it
   * (the seq a remove saw released before the free). Returns how many steps it added.
   */
  reliedGuards(): number {
    let added = 0;
    for (const step of [...this.reasons.keys()]) {
      const at = this.inWindow.find((s) => s.step === step);
      if (at === undefined) continue;
      // The step itself (a check and what it allowed, in one step), then earlier ones.
      for (let i = this.inWindow.indexOf(at); i >= 0; i--) {
        const s = this.inWindow[i] as StepAccesses;
        if (s.task !== at.task) continue;
        const guards = s.accesses.filter((a) => !a.write && isGuard(a.id));
        if (guards.length === 0) continue;
        if (!this.reasons.has(s.step)) added++;
        this.add(
          s.step,
          guards.map((a) => a.id),
        );
        break;
      }
    }
    return added;
  }

  /**
   * The producers of the values a slice step's events that matter read (one level): the
   * last write of each before the step. Returns how many steps it added.
   */
  producers(): number {
    let added = 0;
    for (const [step, why] of [...this.reasons].map(([s, r]) => [s, [...r]] as const)) {
      const at = this.inWindow.find((s) => s.step === step);
      // The values the step's events that matter used (those the report shows).
      const used = (at?.events ?? []).filter((ev) =>
        ev.some((a) => why.some((id) => overlaps(a.id, id))),
      );
      for (const read of used.flat()) {
        if (read.write) continue;
        const p = this.lastWriteBefore(read.id, step);
        if (p === null) continue;
        const ids = p.accesses.filter((a) => a.write && overlaps(a.id, read.id)).map((a) => a.id);
        if (!this.reasons.has(p.step)) added++;
        this.add(p.step, ids);
        this.add(step, [read.id]);
      }
    }
    return added;
  }

  private lastWriteBefore(id: string, step: number): StepAccesses | null {
    for (let i = this.inWindow.length - 1; i >= 0; i--) {
      const s = this.inWindow[i] as StepAccesses;
      if (s.step >= step) continue;
      // A birth is where the window starts: a site under the diagram, not a row.
      if (s.accesses.some((a) => a.write && overlaps(a.id, id))) {
        return s.accesses.some((a) => a.create && overlaps(a.id, id)) ? null : s;
      }
    }
    return null;
  }
}

/**
 * Drops a task's guard-only steps that guard none of its data steps: those after its
 * last step that touched anything but guards, and those in another operation (flow)
 * than all of its data steps (the interlock read of an earlier fault that gave up).
 */
function dropStrayGuards(
  steps: readonly number[],
  byStep: ReadonlyMap<number, StepAccesses>,
  reasons: ReadonlyMap<number, readonly string[]>,
  violationStep: number,
): number[] {
  const data = new Map<number, { last: number; flows: Set<string | null> }>();
  const isData = (step: number) =>
    (reasons.get(step) ?? []).some((id) => !isGuard(id) && !id.startsWith("flow:"));
  for (const s of steps) {
    const at = byStep.get(s);
    if (at === undefined || !isData(s)) continue;
    const d = data.get(at.task) ?? { last: s, flows: new Set() };
    d.last = s;
    d.flows.add(flowOf(byStep, at.task, s));
    data.set(at.task, d);
  }
  return steps.filter((s) => {
    const at = byStep.get(s);
    if (at === undefined || s === violationStep || isData(s)) return true;
    const d = data.get(at.task);
    if (d === undefined) return true;
    return s <= d.last && d.flows.has(flowOf(byStep, at.task, s));
  });
}

/** The flow `task` was serving at `step`: its last flow point at or before it. */
function flowOf(
  byStep: ReadonlyMap<number, StepAccesses>,
  task: number,
  step: number,
): string | null {
  let flow: string | null = null;
  for (const at of byStep.values()) {
    if (at.step > step) break;
    if (at.task !== task) continue;
    const f = at.accesses.find((a) => a.id.startsWith("flow:"));
    if (f !== undefined) flow = f.id;
  }
  return flow;
}
