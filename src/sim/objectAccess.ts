/**
 * Object accesses in the trace: which shared objects a trace event read or wrote, so a
 * race report can walk back from a violation to the steps that matter to it (the causal
 * slice, src/check/slice.ts).
 *
 * Models no kernel file: a convention over event fields. An event lists the objects it
 * read in `fields.reads`, those it wrote in `fields.writes` and those it brought to life
 * in `fields.creates` (an allocation: a write that starts the object's life), each a
 * space-separated list of object ids. A reference count taken or dropped is a write
 * listed in `fields.gets` or `fields.puts`, so a get and the put that balances it can
 * be told apart from the one that leaks. An id names one object, or one part of one (`mkey:322[0]`, an MTT
 * entry; `umem_odp(explicit)#9.dma[0]`, a DMA-list entry): a part is its whole's id
 * followed by `.field` or `[index]`, so an access to a whole (freeing it, destroying an
 * mkey) touches every part. An id that starts with `~` is a guard: an interlock's counter
 * or flag, or a lock, read and written to order other accesses rather than for a value.
 * Ids never contain spaces (`objectId` replaces them).
 *
 * Events cost nothing when tracing is off, but building an id list does: callers on hot
 * paths test `k.trace !== null` first.
 */
import type { TraceFields } from "./trace.ts";

export const READS_FIELD = "reads";
export const WRITES_FIELD = "writes";
export const CREATES_FIELD = "creates";
export const GETS_FIELD = "gets";
export const PUTS_FIELD = "puts";

export interface ObjectAccess {
  readonly id: string;
  /** A write, a creation included. */
  readonly write: boolean;
  readonly create: boolean;
  /** A reference count taken (1) or dropped (-1); 0 for any other access. */
  readonly count: number;
}

/** An id made from a name that may contain spaces. */
export function objectId(name: string): string {
  return name.replaceAll(" ", "_");
}

/** The guard id of `id` (an interlock's counter or flag, a lock). */
export function guardId(id: string): string {
  return id.startsWith("~") ? id : `~${id}`;
}

/** The access fields of an event: `{ reads, writes, creates }`, empty lists left out. */
export function accessFields(
  reads: readonly string[],
  writes: readonly string[] = [],
  creates: readonly string[] = [],
): Record<string, string> {
  const out: Record<string, string> = {};
  if (reads.length > 0) out[READS_FIELD] = reads.join(" ");
  if (writes.length > 0) out[WRITES_FIELD] = writes.join(" ");
  if (creates.length > 0) out[CREATES_FIELD] = creates.join(" ");
  return out;
}

/** The access fields of a reference count `id` taken (`delta` 1) or dropped (-1). */
export function countFields(id: string, delta: 1 | -1): Record<string, string> {
  return { [delta > 0 ? GETS_FIELD : PUTS_FIELD]: id };
}

/** The accesses an event's fields declare, reads first. */
export function accessesOf(fields: TraceFields | undefined): ObjectAccess[] {
  if (fields === undefined) return [];
  const out: ObjectAccess[] = [];
  for (const [field, write, create, count] of [
    [READS_FIELD, false, false, 0],
    [WRITES_FIELD, true, false, 0],
    [CREATES_FIELD, true, true, 0],
    [GETS_FIELD, true, false, 1],
    [PUTS_FIELD, true, false, -1],
  ] as const) {
    const list = fields[field];
    if (typeof list !== "string") continue;
    for (const id of list.split(" ")) if (id !== "") out.push({ id, write, create, count });
  }
  return out;
}

/** Whether `id` is a guard (see the header). */
export function isGuard(id: string): boolean {
  return id.startsWith("~");
}

/** One step down an id: `.field`, `[index]` or `[lo..hi]` (inclusive). */
type Component = string | readonly [number, number];

/** An id's head and the components after it (guard mark dropped). */
function components(id: string): Component[] {
  const text = id.startsWith("~") ? id.slice(1) : id;
  const out: Component[] = [];
  const head = /^[^.[]*/.exec(text)?.[0] ?? "";
  out.push(head);
  const rest = /\.([^.[]*)|\[(\d+)(?:\.\.(\d+))?\]|\[([^\]]*)\]/g;
  rest.lastIndex = head.length;
  for (let m = rest.exec(text); m !== null; m = rest.exec(text)) {
    if (m[1] !== undefined) out.push(`.${m[1]}`);
    else if (m[2] !== undefined) out.push([Number(m[2]), Number(m[3] ?? m[2])]);
    else out.push(`[${m[4] ?? ""}]`);
  }
  return out;
}

function sameOrOverlapping(a: Component, b: Component): boolean {
  if (typeof a === "string" || typeof b === "string") return a === b;
  return a[0] <= b[1] && b[0] <= a[1];
}

/**
 * Whether two ids name overlapping objects: equal, one a part of the other (`x` and
 * `x.f`, `x[3]`), or index ranges that meet (`x[0..63]` and `x[5]`). Guard marks are
 * ignored.
 */
export function overlaps(a: string, b: string): boolean {
  const ca = components(a);
  const cb = components(b);
  const n = Math.min(ca.length, cb.length);
  for (let i = 0; i < n; i++) {
    if (!sameOrOverlapping(ca[i] as Component, cb[i] as Component)) return false;
  }
  return true;
}

/** Whether `part` is `whole` or lies inside it (`x.f`, `x[3]` in `x`, `x[5]` in `x[0..7]`). */
export function isWithin(part: string, whole: string): boolean {
  const cp = components(part);
  const cw = components(whole);
  if (cp.length < cw.length) return false;
  return cw.every((c, i) => {
    const p = cp[i] as Component;
    if (typeof c === "string" || typeof p === "string") return c === p;
    return c[0] <= p[0] && p[1] <= c[1];
  });
}

/** An index range as an id component: `[i]`, or `[lo..hi]` for more than one. */
export function indexRange(lo: number, count: number): string {
  return count <= 1 ? `[${lo}]` : `[${lo}..${lo + count - 1}]`;
}
