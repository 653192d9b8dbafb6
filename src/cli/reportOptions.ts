/**
 * How `explore` and `replay` print a race report: `--full` (the whole-run table instead
 * of the causal slice), `--format text|kernel` (kernel: 72 columns of ASCII for a commit
 * message), and what `--json` carries of it (the rendered report and its rows).
 *
 * Models no kernel file.
 */
import { InvalidArgumentError } from "commander";
import type { RaceReport } from "../check/report.ts";
import { REPORT_FORMATS, type ReportFormat } from "../check/renderReport.ts";

export interface ReportOptions {
  readonly full?: boolean;
  readonly format?: ReportFormat;
}

/** `--format` values: the report formats only. */
export function reportFormatOption(value: string): ReportFormat {
  const format = REPORT_FORMATS.find((f) => f === value);
  if (format === undefined) {
    throw new InvalidArgumentError(
      `--format must be ${REPORT_FORMATS.join(" or ")}, got "${value}"`,
    );
  }
  return format;
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
