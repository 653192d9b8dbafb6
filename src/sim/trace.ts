/**
 * The record of a run: one entry per scheduler step, plus the events model code emits
 * inside a step (a lock taken, a fault raised, a DMA done).
 *
 * Models the role of the kernel's tracepoints (include/trace/). Each entry carries the
 * step, the virtual time, the task, a label and optional fields: everything the text
 * log, the Perfetto export and the viewer need, so none of them reach into the kernel.
 * The text form is canonical (stable key order), so two runs can be compared byte for
 * byte and hashed.
 */
import { createHash } from "node:crypto";

export type TraceFieldValue = string | number | boolean | null;
export type TraceFields = Readonly<Record<string, TraceFieldValue>>;

/** The task of a timer step (free timing): the clock moved, no task ran. */
export const TIMER_TASK = -1;

export interface TraceEntry {
  readonly step: number;
  readonly timeNs: number;
  readonly task: number;
  /** `step` for a scheduler step (the label the task yielded, if any, is in `label`). */
  readonly kind: "step" | "event";
  readonly label: string;
  readonly fields?: TraceFields;
}

export interface TraceTaskInfo {
  readonly id: number;
  readonly name: string;
  readonly group: { readonly kind: string; readonly name: string };
  readonly parent: number | null;
}

export class Trace {
  readonly entries: TraceEntry[] = [];
  readonly tasks: TraceTaskInfo[] = [];

  addTask(info: TraceTaskInfo): void {
    this.tasks.push(info);
  }

  record(entry: TraceEntry): void {
    this.entries.push(entry);
  }

  /** One line per entry: `step time task kind label {fields}`, greppable. */
  toText(): string {
    const names = new Map(this.tasks.map((t) => [t.id, t.name] as const));
    const lines = this.entries.map((e) => {
      const who = e.task === TIMER_TASK ? "timer" : `${names.get(e.task) ?? "?"}#${e.task}`;
      const fields = e.fields === undefined ? "" : ` ${canonicalJson(e.fields)}`;
      return `${e.step} ${e.timeNs}ns ${who} ${e.kind} ${e.label}${fields}`;
    });
    return lines.join("\n") + "\n";
  }

  /** SHA-256 of the text form: equal hashes mean identical runs. */
  hash(): string {
    return createHash("sha256").update(this.toText()).digest("hex");
  }
}

function canonicalJson(fields: TraceFields): string {
  const keys = Object.keys(fields).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(fields[k])}`).join(",")}}`;
}
