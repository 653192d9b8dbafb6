/**
 * The line that says a violation is likely a documented finding: a violation of a design
 * with no defect on whose kind and message are one of that design's findings
 * (src/check/catalog/findings.ts), since a reader would otherwise take it for a new bug.
 * Matching is by design, kind and message strings, not by cause, hence "likely". A user's
 * design module is matched as the built-in design its core is (one that wraps interval
 * has interval's findings unless it changed what they come from).
 *
 * Models no kernel file.
 */
import { findingOf, type ViolationSummary } from "../check/catalog/findings.ts";
import { isMlx5OdpDesignName, mlx5OdpDesign, userMlx5OdpDesign } from "../rdma/mlx5/odp/designs.ts";

/**
 * `known: likely …` for a violation that is one of the design's documented findings;
 * `brief` leaves out the finding's title and where it is shown (a line of a list).
 */
export function knownFindingLine(
  design: string,
  defects: readonly string[],
  violation: ViolationSummary,
  brief = false,
): string | null {
  if (defects.length > 0) return null;
  const builtIn = findingsDesign(design);
  const finding = findingOf(builtIn, violation);
  if (finding === undefined) return null;
  const named = `known: likely ${builtIn}'s documented finding ${finding.id}`;
  if (brief) return named;
  return `${named}: ${finding.title} (README, "The catalog"; shown by ${finding.test})`;
}

/** The design whose findings apply: a built-in one itself, a user's module its core. */
function findingsDesign(design: string): string {
  if (isMlx5OdpDesignName(design) || userMlx5OdpDesign(design) === undefined) return design;
  return mlx5OdpDesign(design).core.name;
}
