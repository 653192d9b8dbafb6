/**
 * The odpsim command's exit codes, the one place they are defined, and how a verdict
 * maps to one (check/verdict.ts): 0 clean, 1 a violation was found, 2 bad usage or
 * input, 3 an odpsim internal error, 4 inconclusive (runs hit the step bound).
 *
 * Models no kernel file.
 */
import type { Verdict } from "../check/verdict.ts";

export const EXIT_OK = 0;
export const EXIT_VIOLATION = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL_ERROR = 3;
export const EXIT_INCONCLUSIVE = 4;

/** How a command's action hands its exit code back to `runCli`. */
export type SetExitCode = (code: number) => void;

const BY_VERDICT: Readonly<Record<Verdict, number>> = {
  clean: EXIT_OK,
  violation: EXIT_VIOLATION,
  internal_error: EXIT_INTERNAL_ERROR,
  inconclusive: EXIT_INCONCLUSIVE,
};

export function exitCodeOf(verdict: Verdict): number {
  return BY_VERDICT[verdict];
}

/** The table, as `--help` shows it. */
export const EXIT_CODES_HELP =
  "\nExit codes:\n" +
  "  0  clean: no violation in any run\n" +
  "  1  a violation was found\n" +
  "  2  bad usage or input (one line on stderr)\n" +
  "  3  odpsim internal error (a bug in odpsim; message, stack and replay token printed)\n" +
  "  4  inconclusive: runs hit the step bound, so they judge nothing (raise maxSteps)";
