/**
 * Writing the command's results to stdout: one line at a time, and the lines that point
 * to a failure's files.
 *
 * Models no kernel file.
 */
import { CATALOG } from "../check/catalog/catalog.ts";
import type { FailureArtifacts } from "./failureArtifacts.ts";

/** One line on stdout. */
export const out = (line = ""): void => {
  process.stdout.write(`${line}\n`);
};

/** The width of a defect-id column: the longest catalog id. */
export const ID_WIDTH = Math.max(...CATALOG.map((e) => e.id.length));

/** Where the failure's files went, and the command to open each. */
export function printArtifactFiles(files: NonNullable<FailureArtifacts["files"]>): void {
  out(`report:   ${files.report}`);
  out(`perfetto: ${files.perfetto}  (open in https://ui.perfetto.dev)`);
  out(`viewer:   odpsim view ${files.runFile}`);
  out(`log:      ${files.log}`);
}
