/**
 * Race reports as text: the diagram (a column per task, time going down, labels never
 * cut: a cell wraps), then the violation, the sites of what it names, the other
 * evidence and the bug's depth.
 *
 * Models no kernel file. Two formats: `text`, 100 columns with step numbers, what
 * `odpsim explore` prints; `kernel`, 72 columns of plain ASCII without step numbers, the
 * diagram as a commit message carries it.
 */
import type { RaceReport } from "./report.ts";
import type { ReportRow } from "./reportRows.ts";

export type ReportFormat = "text" | "kernel";

export const REPORT_FORMATS: readonly ReportFormat[] = ["text", "kernel"];

/** Line widths of the formats. */
export const REPORT_WIDTH = 100;
export const KERNEL_REPORT_WIDTH = 72;

const STEP_WIDTH = 4;
const GAP = "  ";

interface Layout {
  readonly width: number;
  readonly steps: boolean;
  readonly columnWidth: number;
  readonly columns: number;
}

function layoutOf(report: RaceReport, format: ReportFormat): Layout {
  const width = format === "kernel" ? KERNEL_REPORT_WIDTH : REPORT_WIDTH;
  const steps = format === "text";
  const columns = Math.max(1, report.columns.length);
  const room = width - (steps ? STEP_WIDTH + GAP.length : 0) - GAP.length * (columns - 1);
  return { width, steps, columns, columnWidth: Math.max(8, Math.floor(room / columns)) };
}

/**
 * Word-wraps `text` to `width`; a word longer than a line is broken, and each line
 * after the first starts with `indent` (so does each line of a later paragraph).
 */
export function wrapText(text: string, width: number, indent = ""): string[] {
  const [first = "", ...rest] = text.split("\n").map((p) => p.trim());
  const later = rest.flatMap((p) =>
    wrapParagraph(p, width - indent.length, "").map((l) => indent + l),
  );
  return [...wrapParagraph(first, width, indent), ...later];
}

function wrapParagraph(text: string, width: number, indent: string): string[] {
  const out: string[] = [];
  let line = "";
  const room = () => width - (out.length === 0 ? 0 : indent.length);
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length <= room()) {
      line = `${line} ${word}`;
      continue;
    }
    if (line !== "") out.push(line);
    let rest = word;
    while (rest.length > room()) {
      const cut = breakAt(rest, room());
      out.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    line = rest;
  }
  out.push(line);
  return out.map((l, i) => (i === 0 ? l : indent + l));
}

/** Where to break a word too long for `room`: after the last `/`, `(`, `_`, `.` or `,` in it. */
function breakAt(word: string, room: number): number {
  const head = word.slice(0, room);
  const at = Math.max(...["/", "(", "_", ".", ",", ":"].map((c) => head.lastIndexOf(c)));
  return at >= room / 2 ? at + 1 : room;
}

/** One row of cells: each cell wrapped in its column, lines laid side by side. */
function drawRow(layout: Layout, step: string, cells: readonly string[]): string[] {
  const wrapped = cells.map((c) => (c === "" ? [] : wrapText(c, layout.columnWidth, "  ")));
  const height = Math.max(1, ...wrapped.map((w) => w.length));
  const lines: string[] = [];
  for (let i = 0; i < height; i++) {
    const parts = wrapped.map((w) => (w[i] ?? "").padEnd(layout.columnWidth));
    const lead = layout.steps ? `${(i === 0 ? step : "").padStart(STEP_WIDTH)}${GAP}` : "";
    lines.push(`${lead}${parts.join(GAP)}`.trimEnd());
  }
  return lines;
}

function rowText(row: ReportRow): string {
  const r = row.repeats;
  return r === undefined ? row.text : `${row.text} (${r.count} times, to step ${r.lastStep})`;
}

/** The diagram: header, rule, rows. */
function diagram(report: RaceReport, layout: Layout): string[] {
  const out = drawRow(
    layout,
    "step",
    report.columns.map((c) => c.label),
  );
  out.push(
    ...drawRow(
      layout,
      "----",
      report.columns.map(() => "-".repeat(layout.columnWidth)),
    ),
  );
  for (const row of report.rows) {
    const cells = report.columns.map((_, i) => (i === row.column ? rowText(row) : ""));
    out.push(...drawRow(layout, String(row.step), cells));
  }
  return out;
}

function siteLine(what: string, task: string | null, step: number, fn?: string): string {
  return `${what} by ${task ?? "(no task)"} at step ${step}${fn === undefined ? "" : ` in ${fn}`}`;
}

interface SitedObject {
  readonly object: string;
  readonly allocated: { readonly task: string | null; readonly step: number };
}

/** A violation's `objects` when each is named with its allocation site (a leak), or null. */
function sitedObjects(objects: unknown): readonly SitedObject[] | null {
  if (!Array.isArray(objects) || objects.length === 0) return null;
  const sited = (o: unknown): o is SitedObject => {
    if (typeof o !== "object" || o === null) return false;
    const { object, allocated } = o as { object?: unknown; allocated?: unknown };
    return typeof object === "string" && typeof allocated === "object" && allocated !== null;
  };
  return objects.every(sited) ? objects : null;
}

/** The violation, the sites of what it names, the evidence (text format only), depth. */
function violationLines(report: RaceReport, layout: Layout, format: ReportFormat): string[] {
  const v = report.violation;
  if (v === null) return ["no violation"];
  const where = v.task === null ? `at step ${v.step}` : `in ${v.task} at step ${v.step}`;
  const out = wrapText(`BUG: ${v.kind} ${where}: ${v.message}`, layout.width, "  ");
  const sites: string[] = [];
  if (report.allocated !== null)
    sites.push(siteLine("allocated", report.allocated.task, report.allocated.step));
  if (report.freed !== null) sites.push(siteLine("freed", report.freed.task, report.freed.step));
  for (const s of report.frameSites) {
    sites.push(`${s.object} ${siteLine(s.what, s.task, s.step, s.fn)}`);
  }
  const sited = sitedObjects(v.details["objects"]);
  for (const o of sited ?? []) {
    sites.push(`${o.object} ${siteLine("allocated", o.allocated.task, o.allocated.step)}`);
  }
  for (const s of sites) out.push(...wrapText(s, layout.width - 2, "  ").map((l) => `  ${l}`));
  if (format === "kernel") return out;
  for (const [key, value] of Object.entries(v.details)) {
    if (key === "allocated" || key === "freed" || (key === "objects" && sited !== null)) continue;
    out.push(
      ...wrapText(`${key}: ${JSON.stringify(value)}`, layout.width - 2, "  ").map((l) => `  ${l}`),
    );
  }
  const b = report.pctBound;
  out.push(
    `depth: ${report.preemptions} preemption${report.preemptions === 1 ? "" : "s"} ` +
      `(PCT d=${b.d}: one run finds it with p >= ${b.formula} = ${b.probability.toPrecision(2)})`,
  );
  return out;
}

/** Plain ASCII for a commit message: the few non-ASCII characters reports use. */
function ascii(text: string): string {
  return text
    .replaceAll("…", "...")
    .replaceAll("·", "*")
    .replaceAll("→", "->")
    .replaceAll("—", "-")
    .replace(/[^\x20-\x7e\n]/g, "?");
}

/** Which scenario source, design, defects and timing produced the run. */
function provenance(report: RaceReport): string {
  const defects = report.defects.length === 0 ? "none" : report.defects.join(", ");
  return (
    `scenario ${report.source}; design ${report.design ?? "-"}; defects ${defects}; ` +
    `${report.timing} timing`
  );
}

/** The report as text, in `format` (default `text`). */
export function renderRaceReport(report: RaceReport, format: ReportFormat = "text"): string {
  const layout = layoutOf(report, format);
  const out: string[] = [];
  if (format === "text") {
    const table =
      report.table === "full"
        ? "whole run"
        : `${report.rows.length} ${report.rows.length === 1 ? "row" : "rows"} of the causal slice`;
    const title =
      `odpsim race report: ${report.scenario}, seed ${report.seed}, ${report.steps} steps, ` +
      `${report.preemptions} preemption${report.preemptions === 1 ? "" : "s"}; ${table}`;
    out.push(...wrapText(title, layout.width, "  "));
    out.push(...wrapText(provenance(report), layout.width, "  "));
    if (report.omitted.length > 0) out.push(`left out (not needed): ${report.omitted.join(", ")}`);
    if (report.faultsInjected.length > 0) {
      out.push(`faults injected: ${report.faultsInjected.join(", ")}`);
    }
    out.push("");
  }
  out.push(...diagram(report, layout), "", ...violationLines(report, layout, format));
  // A commit message carries the diagram first; what produced it closes the report.
  if (format === "kernel")
    out.push(
      "",
      ...wrapText(`found by odpsim, ${report.scenario}: ${provenance(report)}`, layout.width, "  "),
    );
  const text = `${out.join("\n")}\n`;
  return format === "kernel" ? ascii(text) : text;
}
