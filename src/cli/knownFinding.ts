/**
 * The line that says a violation is likely a documented finding: a violation of a design
 * with no defect on whose kind and message are one of that design's findings
 * (src/check/catalog/findings.ts), since a reader would otherwise take it for a new bug.
 * Matching is by design, kind and message strings, not by cause, hence "likely".
 *
 * Models no kernel file.
 */
import { findingOf, type ViolationSummary } from "../check/catalog/findings.ts";

export function knownFindingLine(
  design: string,
  defects: readonly string[],
  violation: ViolationSummary,
): string | null {
  if (defects.length > 0) return null;
  const finding = findingOf(design, violation);
  if (finding === undefined) return null;
  return (
    `known: likely ${design}'s documented finding ${finding.id}: ${finding.title} ` +
    `(README, "The catalog"; shown by ${finding.test})`
  );
}
