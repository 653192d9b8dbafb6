/**
 * The key that says two runs of generated programs fail the same way.
 *
 * Models no kernel file. A violation's key is its place (violationPlace.ts: kind and
 * site) with operation numbers left out: the ops of a generated program are numbered,
 * and shrinking that drops one renumbers the rest of its thread, while the thread and
 * the kind of operation that failed stay. An internal error's key is its message's
 * first line (the exception, not its stack).
 */
import type { RunOutcome } from "./outcome.ts";

export function failureKey(outcome: RunOutcome): string | null {
  switch (outcome.type) {
    case "violation":
      return outcome.place.replace(/ op \d+/g, " op");
    case "internal_error":
      return `internal_error: ${outcome.message.split("\n")[0] ?? ""}`;
    default:
      return null;
  }
}
