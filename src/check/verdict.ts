/**
 * What a search or a run may honestly say about a scenario, and nothing more.
 *
 * Models no kernel file. A verdict never lies: a run that ended in an odpsim internal
 * error (an exception of the simulator, not a violation of the model) says nothing
 * about the design, and neither does a run cut off by the step bound, so neither ever
 * counts as clean. Precedence, when one search saw several: an internal error (odpsim
 * itself is broken), then a violation, then an inconclusive run, then clean.
 */

export type Verdict = "clean" | "violation" | "inconclusive" | "internal_error";

export const VERDICTS: readonly Verdict[] = [
  "clean",
  "violation",
  "inconclusive",
  "internal_error",
];

/** The verdict of what was seen: any internal error, any violation, any cut-off run. */
export function verdictOf(seen: {
  readonly internalError: boolean;
  readonly violation: boolean;
  readonly inconclusive: boolean;
}): Verdict {
  if (seen.internalError) return "internal_error";
  if (seen.violation) return "violation";
  if (seen.inconclusive) return "inconclusive";
  return "clean";
}
