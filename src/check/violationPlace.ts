/**
 * Where a violation happened, so that "the same violation" means the same bug and not
 * merely the same kind of failure.
 *
 * Models no kernel file. The place is the violation's kind and its site: the oracle's
 * own name for where it fired (`details.site`: a scenario operation such as
 * `app/nic op 2`, a data check such as `data check app buf[0, 64)`), or else the task
 * that was running, by name without its id. Shrinking keeps a candidate only when its
 * first violation has the same place as the original's.
 */
import type { Violation } from "../sim/violation.ts";

/** `kind at site`: equal for two violations of the same bug. */
export function violationPlace(v: Violation): string {
  const site = v.details.site;
  const where = typeof site === "string" ? site : taskName(v.task);
  return `${v.kind} at ${where}`;
}

/** `nic#3` -> `nic`; null (outside any task) -> `the scheduler`. */
function taskName(label: string | null): string {
  if (label === null) return "the scheduler";
  return label.replace(/#[0-9]+$/, "");
}
