/**
 * The text log a reviewer greps: one line per step and per event.
 *
 * Models no kernel file (it reads like a dmesg / ftrace buffer dump). Each line is
 *
 *     STEP TIMEns GROUPKIND GROUPNAME | TASK#ID KIND LABEL {FIELDS}
 *
 * with fields as canonical JSON (sorted keys, so newlines in values stay escaped and a
 * line is always one line). Violation events start with `!! ` and carry the message;
 * violations with no event in the trace are appended as `!!` lines at the end.
 */
import type { TraceEntry, TraceFields } from "../sim/trace.ts";
import type { TraceLike } from "./perfetto.ts";
import type { RunViolation } from "./runFile.ts";
import { VIOLATION_EVENT } from "./snapshotRecorder.ts";

export const VIOLATION_MARK = "!!";

/** The whole log, newline-terminated. */
export function toTextLog(trace: TraceLike, violations: readonly RunViolation[] = []): string {
  const who = new Map(
    trace.tasks.map((t) => [t.id, `${t.group.kind} ${t.group.name} | ${t.name}#${t.id}`] as const),
  );
  const lines: string[] = [];
  let seen = 0;
  for (const entry of trace.entries) {
    const task = who.get(entry.task) ?? `odpsim scheduler | -#${entry.task}`;
    if (entry.kind === "event" && entry.label === VIOLATION_EVENT) {
      const v = violations[seen];
      seen++;
      lines.push(
        `${VIOLATION_MARK} ${line(entry, task, v === undefined ? entry.fields : violationFields(v))}`,
      );
    } else {
      lines.push(line(entry, task, entry.fields));
    }
  }
  for (const v of violations.slice(seen)) {
    lines.push(
      `${VIOLATION_MARK} ${v.step} ${formatNs(v.timeNs)}ns | ${v.task ?? "-"} event violation ${canonicalJson(violationFields(v))}`,
    );
  }
  return lines.map((l) => `${l}\n`).join("");
}

/**
 * A virtual time as the log prints it: to the picosecond, so the binary rounding of
 * summed costs (66033.59999999999) shows as the time it stands for (66033.6).
 */
export function formatNs(ns: number): string {
  return String(Math.round(ns * 1000) / 1000);
}

function line(entry: TraceEntry, task: string, fields: TraceFields | undefined): string {
  const tail = fields === undefined ? "" : ` ${canonicalJson(fields)}`;
  return `${entry.step} ${formatNs(entry.timeNs)}ns ${task} ${entry.kind} ${entry.label}${tail}`;
}

function violationFields(v: RunViolation): TraceFields {
  return { kind: v.kind, message: v.message };
}

/** JSON with keys sorted at the top level; values as JSON.stringify writes them. */
export function canonicalJson(fields: TraceFields): string {
  const keys = Object.keys(fields).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(fields[k])}`).join(",")}}`;
}
