/**
 * Where a violation happened, so that "the same violation" means the same bug and not
 * merely the same kind of failure.
 *
 * Models no kernel file. The place is the violation's kind and its site: the oracle's
 * own name for where it fired (`details.site`: a scenario operation such as
 * `app/nic op 2`, a data check such as `data check app buf[0, 64)`), or else the task
 * that was running, by name without its id. A deadlock is found between steps, by no
 * task, so its site is what its tasks wait on, by lock or queue name without the
 * instance (`rwsem umem_rwsem`, `wait queue notifier_subscriptions.wq`): two deadlocks
 * on different locks are different bugs. A scenario's own events and joins (a thread's
 * `wait:`, a SIGKILL joining a thread) say where the program stopped behind the hang,
 * not where the kernel hangs, so they count only when nothing else is waited on. Shrinking keeps a candidate only when its
 * first violation has the same place as the original's.
 */
import type { Violation } from "../sim/violation.ts";

/** `kind at site`: equal for two violations of the same bug. */
export function violationPlace(v: Violation): string {
  const site = v.details.site;
  const where = typeof site === "string" ? site : taskName(v.task);
  const waits = v.kind === "deadlock" ? waitClasses(v.details.blocked) : "";
  return `${v.kind} at ${where}${waits === "" ? "" : `, waiting on ${waits}`}`;
}

/**
 * The distinct channels a deadlock's tasks wait on, without instances: parenthesized
 * parts (`(pid100)`, `(writer none, readers [...])`) and task ids dropped.
 */
function waitClasses(blocked: unknown): string {
  if (!Array.isArray(blocked)) return "";
  const names = blocked.map((b: { waitsOn?: unknown }) => waitClass(String(b.waitsOn)));
  const kernel = names.filter((n) => !PROGRAM_WAIT.test(n));
  return [...new Set(kernel.length > 0 ? kernel : names)].sort().join(", ");
}

/** A scenario thread's `wait:` (a completion named `event X`) or a join of a task. */
const PROGRAM_WAIT = /^(completion event |join of )/;

function waitClass(waitsOn: string): string {
  let s = waitsOn;
  for (let t = s.replace(/\([^()]*\)/g, ""); t !== s; t = s.replace(/\([^()]*\)/g, "")) s = t;
  return s
    .replace(/#[0-9]+/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

/** `nic#3` -> `nic`; null (outside any task) -> `the scheduler`. */
function taskName(label: string | null): string {
  if (label === null) return "the scheduler";
  return label.replace(/#[0-9]+$/, "");
}
