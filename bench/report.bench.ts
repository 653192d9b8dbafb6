/**
 * Race-report sizes over the catalog: each entry's shrunk report as `odpsim explore`
 * prints it (src/cli/catalogReports.ts), its rows (one per step of the causal slice,
 * identical neighbours folded) and columns (one per task with a row). The issue's
 * targets are structural and tested in test/cli/catalogReports.test.ts; these figures
 * show how far under them each entry is.
 */
import type { BenchResult } from "./result.ts";
import { CATALOG } from "../src/check/catalog/catalog.ts";
import { catalogEntryReport } from "../src/cli/catalogReports.ts";

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const hi = sorted[Math.floor(mid)] ?? Number.NaN;
  return sorted.length % 2 === 1 ? hi : ((sorted[mid - 1] ?? hi) + hi) / 2;
}

export function reportBenchmarks(): Promise<BenchResult[]> {
  const sizes = CATALOG.map((entry) => {
    const report = catalogEntryReport(entry);
    return { id: entry.id, rows: report.rows.length, columns: report.columns.length };
  });
  const rows = sizes.map((s) => s.rows);
  const columns = sizes.map((s) => s.columns);
  return Promise.resolve([
    { id: "report.rows.median", value: median(rows), unit: "rows" },
    { id: "report.rows.max", value: Math.max(...rows), unit: "rows" },
    { id: "report.columns.max", value: Math.max(...columns), unit: "columns" },
    { id: "report.columns.median", value: median(columns), unit: "columns" },
    ...sizes.map((s) => ({ id: `report.rows.${s.id}`, value: s.rows, unit: "rows" })),
    ...sizes.map((s) => ({ id: `report.columns.${s.id}`, value: s.columns, unit: "columns" })),
  ]);
}
