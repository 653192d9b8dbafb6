/**
 * Everything odpsim writes about one failing run: the shrunk schedule, the race report,
 * the replay token, and the files a person opens (Perfetto trace, viewer run file,
 * text log).
 *
 * Models no kernel file.
 */
import { join } from "node:path";
import { buildRaceReport, type RaceReport } from "../check/report.ts";
import { renderRaceReport } from "../check/renderReport.ts";
import { makeOutputDir, writeOutputFile } from "./outputPaths.ts";
import type { ReportOptions } from "./reportOptions.ts";
import { replayRecorded, type RecordedRun } from "../check/replay.ts";
import { runSettingsOf, type RunSettings, type Scenario } from "../check/scenario.ts";
import { shrink } from "../check/shrink.ts";
import { encodeToken } from "../check/token.ts";
import { serializeChromeTrace, toChromeTrace } from "../output/perfetto.ts";
import { buildRunFile, serializeRunFile, type Snapshot } from "../output/runFile.ts";
import { SnapshotRecorder } from "../output/snapshotRecorder.ts";
import type { Kernel } from "../sim/kernel.ts";
import { odpHostOf } from "../check/catalog/scenarios/odpHost.ts";
import {
  odpHostModel,
  odpSnapshotSource,
  type SnapshotModel,
} from "../check/snapshots/odpSnapshot.ts";
import type { CompiledScenario } from "../scenario/compile.ts";
import { worldSnapshotModel } from "../scenario/worldSnapshot.ts";
import { toTextLog } from "../output/textLog.ts";

/** The moments worth a snapshot: the device view or the CPU's page tables changed. */
const SNAPSHOT_EVENTS = [
  "umr_done",
  "odp_map_page",
  "odp_unmap_page",
  "invalidate_range_start",
  "invalidate_range_end",
  "page_fault",
  "page_fault_resume",
  "destroy_mkey",
];

/** The causal slice's rows: the report's, or for a whole-run report the slice's own. */
function sliceRowsOf(scenario: Scenario, recorded: RecordedRun, report: RaceReport) {
  return report.table === "slice" ? report.rows : buildRaceReport(scenario, recorded).rows;
}

/** The processes and NICs of the machine `scenario` built on `k`, if it has any. */
function snapshotModelOf(scenario: Scenario, k: Kernel): SnapshotModel | null {
  const host = odpHostOf(k);
  if (host !== undefined) return odpHostModel(host);
  if ("worldOf" in scenario) return worldSnapshotModel((scenario as CompiledScenario).worldOf(k));
  return null;
}

/**
 * Records snapshots of the machine's state while a replay runs: a catalog scenario's ODP
 * host or a scenario file's world (other scenarios: none).
 */
class SnapshotCollector {
  private recorder: SnapshotRecorder | null = null;

  constructor(private readonly scenario: Scenario) {}

  attach(k: Kernel): void {
    const model = snapshotModelOf(this.scenario, k);
    if (model === null || k.trace === null) return;
    this.recorder = new SnapshotRecorder(odpSnapshotSource(model), SNAPSHOT_EVENTS);
    this.recorder.attach(k.trace);
  }

  taken(): readonly Snapshot[] {
    return this.recorder?.snapshots ?? [];
  }
}

/** A failing run: its settings (omit: parts a replayed token already leaves out). */
export interface Failure extends RunSettings {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly schedule: Uint32Array;
  readonly strategy: string;
  readonly design: string;
  readonly defects: readonly string[];
}

export interface FailureArtifacts {
  /** The race report as printed (text format). */
  readonly report: string;
  /** The race report itself: its rows, columns and slice. */
  readonly raceReport: RaceReport;
  /** The viewer's run file of the shrunk run (null when no files were asked for). */
  readonly runFileJson: string | null;
  readonly token: string;
  readonly depth: number;
  readonly files: {
    readonly perfetto: string;
    readonly runFile: string;
    readonly log: string;
    readonly report: string;
  } | null;
}

/**
 * Shrinks the failure, renders its report (as `options` say: the causal slice or the
 * whole run, text or kernel format) and token, and writes files into `outDir`. The run
 * file always carries the causal slice, which the viewer opens on.
 */
export function failureArtifacts(
  failure: Failure,
  outDir: string | null,
  options: ReportOptions = {},
): FailureArtifacts {
  const { scenario, seed, design, defects } = failure;
  const settings = runSettingsOf(failure);
  const shrunk = shrink(
    scenario,
    { seed, schedule: failure.schedule, ...settings },
    { maxRuns: 2000 },
  );
  const recorded = {
    seed,
    schedule: shrunk.executed,
    ...runSettingsOf({ ...settings, faults: shrunk.faults, omit: shrunk.omit }),
  };
  const raceReport = buildRaceReport(scenario, recorded, { full: options.full === true });
  const report = renderRaceReport(raceReport, options.format);
  const token = encodeToken(scenario, { ...recorded, strategy: failure.strategy });
  if (outDir === null) {
    return { report, raceReport, token, depth: shrunk.preemptions, files: null, runFileJson: null };
  }
  const snapshots = new SnapshotCollector(scenario);
  const replayed = replayRecorded(scenario, recorded, true, (k) => {
    snapshots.attach(k);
  });
  const trace = replayed.result.trace;
  if (trace === null) throw new Error(`scenario ${scenario.name} ignores ctx.trace`);
  makeOutputDir(outDir);
  const files = {
    perfetto: join(outDir, "trace.perfetto.json"),
    runFile: join(outDir, "run.json"),
    log: join(outDir, "trace.log"),
    report: join(outDir, "report.txt"),
  };
  writeOutputFile(files.perfetto, serializeChromeTrace(toChromeTrace(trace, replayed.violations)));
  const run = buildRunFile(
    replayed.result,
    { scenario: scenario.name, design, defects, seed, strategy: failure.strategy },
    snapshots.taken(),
    report,
    { ...raceReport.slice, rows: sliceRowsOf(scenario, recorded, raceReport) },
  );
  const runFileJson = serializeRunFile(run);
  writeOutputFile(files.runFile, runFileJson);
  writeOutputFile(files.log, toTextLog(trace, replayed.violations));
  writeOutputFile(files.report, `${report}\n\nreplay: odpsim replay ${token}\n`);
  return { report, raceReport, token, depth: shrunk.preemptions, files, runFileJson };
}
