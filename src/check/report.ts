/**
 * Race reports: a failing run, replayed with the trace on, drawn the way kernel
 * developers draw races in commit messages and on the mailing lists, one column per
 * task, time going down:
 *
 *     step  owner#0                   reader#1
 *        6  kmalloc + publish(buf)
 *       10                            load ptr: buf
 *       12  kfree(buf)
 *       14                            read buf->data
 *
 * followed by the violation line, the allocation and free sites of the object involved
 * (use-after-free, double free), the other evidence, and the bug's depth.
 *
 * Models no kernel file. Only the tasks that matter get a column: the violating task,
 * the tasks the violation's evidence names, then the tasks whose labelled steps came
 * last before the violation (at most four columns, so a report stays within 100
 * characters). A step's label comes first, then the events raised during it. Unlabelled steps (plain `yield`) and task exits are left out; events
 * are shown with their fields.
 */
import type { ObjectSite } from "../sim/kasan.ts";
import type { TraceEntry } from "../sim/trace.ts";
import type { Violation } from "../sim/violation.ts";
import { replayRecorded, type RecordedRun } from "./replay.ts";
import type { Scenario } from "./scenario.ts";
import { pctBound, type PctBound } from "./shrink.ts";

export interface ReportColumn {
  readonly task: number;
  readonly label: string;
}

export interface ReportRow {
  readonly step: number;
  readonly task: number;
  readonly column: number;
  readonly kind: "step" | "event" | "violation";
  readonly text: string;
}

/** The JSON form of a race report. */
export interface RaceReport {
  readonly scenario: string;
  readonly seed: number;
  readonly steps: number;
  readonly preemptions: number;
  readonly pctBound: PctBound;
  readonly columns: readonly ReportColumn[];
  readonly rows: readonly ReportRow[];
  /** Rows left out at the top to keep the diagram short. */
  readonly elidedRows: number;
  readonly violation: Violation | null;
  readonly allocated: ObjectSite | null;
  readonly freed: ObjectSite | null;
  readonly traceHash: string;
  /** Faults the run injected (by site), and the scenario parts it left out. */
  readonly faultsInjected: readonly string[];
  readonly omitted: readonly string[];
}

export const REPORT_WIDTH = 100;
const MAX_COLUMNS = 4;
const MAX_ROWS = 40;
const STEP_WIDTH = 5;

/** Replays `run` with the trace on and builds its report. */
export function buildRaceReport(scenario: Scenario, run: RecordedRun): RaceReport {
  const replayed = replayRecorded(scenario, run, true);
  const trace = replayed.result.trace;
  if (trace === null) throw new Error(`scenario ${scenario.name} ignores ctx.trace`);
  const violation = replayed.violations[0] ?? null;
  const labelToId = new Map(trace.tasks.map((t) => [`${t.name}#${t.id}`, t.id] as const));
  const entries = trace.entries.filter(shown);
  const columns = chooseColumns(entries, violation, labelToId);
  const index = new Map(columns.map((c, i) => [c, i] as const));
  const rows: ReportRow[] = [];
  for (const e of entries) {
    const column = index.get(e.task);
    if (column === undefined) continue;
    rows.push({ step: e.step, task: e.task, column, kind: rowKind(e), text: entryText(e) });
  }
  // A step's label names the step; the events raised inside it read best below it.
  rows.sort((a, b) => a.step - b.step || Number(a.kind !== "step") - Number(b.kind !== "step"));
  const elided = Math.max(0, rows.length - MAX_ROWS);
  return {
    scenario: scenario.name,
    seed: run.seed,
    steps: replayed.result.steps,
    preemptions: replayed.preemptions,
    pctBound: pctBound(trace.tasks.length, replayed.choicePoints, replayed.preemptions),
    columns: columns.map((id) => ({ task: id, label: taskLabel(trace.tasks, id) })),
    rows: rows.slice(elided),
    elidedRows: elided,
    violation,
    allocated: siteOf(violation?.details["allocated"]),
    freed: siteOf(violation?.details["freed"]),
    traceHash: trace.hash(),
    faultsInjected: trace.entries
      .filter((e) => e.kind === "event" && e.label === "fault_injected")
      .map((e) => `${String(e.fields?.["site"])} at step ${e.step}`),
    omitted: run.omit ?? [],
  };
}

function taskLabel(tasks: readonly { id: number; name: string }[], id: number): string {
  const t = tasks.find((x) => x.id === id);
  return t === undefined ? `?#${id}` : `${t.name}#${id}`;
}

/** Entries a reader wants: labelled steps other than exits, and events. */
function shown(e: TraceEntry): boolean {
  if (e.kind === "event") return true;
  return e.label !== "" && e.label !== "exit";
}

function rowKind(e: TraceEntry): ReportRow["kind"] {
  if (e.kind === "step") return "step";
  return e.label === "violation" ? "violation" : "event";
}

function entryText(e: TraceEntry): string {
  if (e.kind === "step") return e.label;
  if (e.label === "violation") return `>>> ${String(e.fields?.["kind"] ?? "violation")}`;
  const fields = Object.entries(e.fields ?? {}).map(([k, v]) => `${k}=${String(v)}`);
  return [`* ${e.label}`, ...fields].join(" ");
}

function siteOf(value: unknown): ObjectSite | null {
  if (typeof value !== "object" || value === null) return null;
  const site = value as Partial<ObjectSite>;
  if (typeof site.step !== "number") return null;
  return { task: typeof site.task === "string" ? site.task : null, step: site.step };
}

/** Task labels a violation's evidence names (sites, deadlocked tasks). */
function namedTasks(violation: Violation | null): string[] {
  if (violation === null) return [];
  const names: string[] = [];
  if (violation.task !== null) names.push(violation.task);
  for (const key of ["allocated", "freed"]) {
    const task = siteOf(violation.details[key])?.task;
    if (task !== undefined && task !== null) names.push(task);
  }
  const blocked = violation.details["blocked"];
  if (Array.isArray(blocked)) {
    for (const b of blocked as unknown[]) {
      const task = (b as { task?: unknown } | null)?.task;
      if (typeof task === "string") names.push(task);
    }
  }
  return names;
}

function chooseColumns(
  entries: readonly TraceEntry[],
  violation: Violation | null,
  labelToId: ReadonlyMap<string, number>,
): number[] {
  const key: number[] = [];
  for (const name of namedTasks(violation)) {
    const id = labelToId.get(name);
    if (id !== undefined && !key.includes(id)) key.push(id);
  }
  // Then the tasks whose labelled steps come last before the violation: the ones
  // interleaving with it.
  const last = new Map<number, number>();
  entries.forEach((e, i) => {
    if (e.task >= 0) last.set(e.task, i);
  });
  const others = [...last.keys()]
    .filter((id) => !key.includes(id))
    .sort((a, b) => (last.get(b) ?? 0) - (last.get(a) ?? 0));
  return [...key, ...others].slice(0, MAX_COLUMNS).sort((a, b) => a - b);
}

function fit(text: string, width: number): string {
  return text.length <= width ? text.padEnd(width) : `${text.slice(0, width - 1)}…`;
}

/** Word-wraps `text`; lines after the first are indented by two more spaces. */
function wrap(text: string, first: string, width = REPORT_WIDTH): string[] {
  const out: string[] = [];
  for (const paragraph of text.split("\n")) {
    const indent = out.length === 0 ? first : `${first}  `;
    let line = "";
    for (const word of paragraph.split(" ")) {
      const lead = out.length === 0 ? first : `${first}  `;
      if (line !== "" && lead.length + line.length + 1 + word.length > width) {
        out.push(lead + line);
        line = word;
      } else {
        line = line === "" ? word : `${line} ${word}`;
      }
    }
    out.push((out.length === 0 ? indent : `${first}  `) + line.trimStart());
  }
  return out;
}

function siteText(what: string, site: ObjectSite): string {
  return `  ${what} by ${site.task ?? "(no task)"} at step ${site.step}`;
}

/** The plain-text race diagram. */
export function renderRaceReport(report: RaceReport): string {
  const n = Math.max(1, report.columns.length);
  const width = Math.min(30, Math.floor((REPORT_WIDTH - STEP_WIDTH) / n) - 2);
  const line = (step: string, cells: string[]) =>
    `${step.padStart(STEP_WIDTH - 1)}  ${cells.map((c) => fit(c, width)).join("  ")}`.trimEnd();
  const out = [
    `odpsim race report: ${report.scenario}, seed ${report.seed}, ${report.steps} steps, ` +
      `${report.preemptions} preemption${report.preemptions === 1 ? "" : "s"}`,
    "",
    line(
      "step",
      report.columns.map((c) => c.label),
    ),
    line(
      "----",
      report.columns.map(() => "-".repeat(width)),
    ),
  ];
  if (report.faultsInjected.length > 0) {
    out.splice(1, 0, `faults injected: ${report.faultsInjected.join(", ")}`);
  }
  if (report.omitted.length > 0) {
    out.splice(1, 0, `left out (not needed): ${report.omitted.join(", ")}`);
  }
  if (report.elidedRows > 0) out.push(line("…", [`(${report.elidedRows} earlier rows)`]));
  for (const row of report.rows) {
    const cells = report.columns.map((_, i) => (i === row.column ? row.text : ""));
    out.push(line(String(row.step), cells));
  }
  out.push("", ...violationLines(report));
  return `${out.join("\n")}\n`;
}

function violationLines(report: RaceReport): string[] {
  const v = report.violation;
  if (v === null) return ["no violation"];
  const where = v.task === null ? `at step ${v.step}` : `in ${v.task} at step ${v.step}`;
  const out = wrap(`BUG: ${v.kind} ${where}: ${v.message}`, "");
  if (report.allocated !== null) out.push(siteText("allocated", report.allocated));
  if (report.freed !== null) out.push(siteText("freed", report.freed));
  for (const [key, value] of Object.entries(v.details)) {
    if (key === "allocated" || key === "freed") continue;
    out.push(...wrap(`${key}: ${JSON.stringify(value)}`, "  "));
  }
  const b = report.pctBound;
  out.push(
    `depth: ${report.preemptions} preemption${report.preemptions === 1 ? "" : "s"} ` +
      `(PCT d=${b.d}: one run finds it with p >= ${b.formula} = ${b.probability.toPrecision(2)})`,
  );
  return out;
}

/** The report as JSON text. */
export function raceReportJson(report: RaceReport): string {
  return JSON.stringify(report, null, 2);
}
