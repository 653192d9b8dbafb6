/**
 * How `explore` and `replay` print a race report: `--full` (the whole-run table instead
 * of the causal slice), `--format text|kernel` (kernel: 72 columns of ASCII for a commit
 * message; options.ts parses it), and what `--json` carries of it (the rendered report
 * and its rows).
 *
 * Models no kernel file.
 */
import type { Command } from "commander";
import type { RaceReport } from "../check/report.ts";
import type { ReportFormat } from "../check/renderReport.ts";
import { reportFormatOption } from "./options.ts";

export interface ReportOptions {
  readonly full?: boolean;
  readonly format?: ReportFormat;
}

/** Adds `--full` and `--format` to a command that prints a race report. */
export function addReportOptions(command: Command): Command {
  return command
    .option("--full", "report the whole run, not the causal slice", false)
    .option(
      "--format <f>",
      "report format: text | kernel (72 columns)",
      reportFormatOption,
      "text",
    );
}

/** What `--json` carries of a report: the text as printed, and the diagram's parts. */
export function reportJsonFields(text: string, report: RaceReport) {
  return {
    report: text,
    table: report.table,
    columns: report.columns,
    rows: report.rows,
    slice: {
      steps: report.slice.steps,
      objects: report.slice.objects,
      windowStart: report.slice.windowStart,
      setupEnd: report.slice.setupEnd,
    },
  };
}
