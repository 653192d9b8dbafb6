/**
 * The rule of the scenario language's orders: every event a thread waits for is
 * signalled by some thread of the file, so a `wait` can only hang on a schedule, never
 * by construction.
 *
 * Models no kernel file. Events are named file-wide (a NIC thread may signal what a
 * user thread of another process waits for). Each problem carries the path of the
 * offending `wait`.
 */
import type { PathProblem, SpecPath } from "./errors.ts";
import type { ScenarioSpec } from "./schema.ts";

interface EventOp {
  readonly kind: "signal" | "wait";
  readonly name: string;
  readonly path: SpecPath;
}

function eventOps(spec: ScenarioSpec): EventOp[] {
  const out: EventOp[] = [];
  spec.processes.forEach((proc, pi) => {
    (proc.threads ?? []).forEach((thread, ti) => {
      thread.ops.forEach((op, oi) => {
        if (typeof op === "string") return;
        const path = ["processes", pi, "threads", ti, "ops", oi];
        if (op.signal !== undefined) out.push({ kind: "signal", name: op.signal, path });
        if (op.wait !== undefined) {
          out.push({ kind: "wait", name: op.wait, path: [...path, "wait"] });
        }
      });
    });
  });
  return out;
}

/** A problem for each `wait` on an event no thread signals. */
export function checkEvents(spec: ScenarioSpec): PathProblem[] {
  const ops = eventOps(spec);
  const signalled = new Set(ops.filter((o) => o.kind === "signal").map((o) => o.name));
  const known = signalled.size === 0 ? "none" : [...signalled].join(", ");
  return ops
    .filter((o) => o.kind === "wait" && !signalled.has(o.name))
    .map((o) => ({
      path: o.path,
      message: `no thread signals event "${o.name}" (signalled events: ${known})`,
    }));
}
