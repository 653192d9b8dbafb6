/**
 * Everything odpsim writes about one failing run: the shrunk schedule, the race report,
 * the replay token, and the files a person opens (Perfetto trace, viewer run file,
 * text log).
 *
 * Models no kernel file.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildRaceReport, renderRaceReport } from "../check/report.ts";
import { replayRecorded } from "../check/replay.ts";
import type { Scenario } from "../check/scenario.ts";
import { shrink } from "../check/shrink.ts";
import { encodeToken } from "../check/token.ts";
import { serializeChromeTrace, toChromeTrace } from "../output/perfetto.ts";
import { buildRunFile, serializeRunFile } from "../output/runFile.ts";
import { toTextLog } from "../output/textLog.ts";

export interface Failure {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly schedule: Uint32Array;
  readonly strategy: string;
  readonly design: string;
  readonly defects: readonly string[];
}

export interface FailureArtifacts {
  readonly report: string;
  readonly token: string;
  readonly depth: number;
  readonly files: {
    readonly perfetto: string;
    readonly runFile: string;
    readonly log: string;
    readonly report: string;
  } | null;
}

/** Shrinks the failure, renders its report and token, and writes files into `outDir`. */
export function failureArtifacts(failure: Failure, outDir: string | null): FailureArtifacts {
  const { scenario, seed, design, defects } = failure;
  const shrunk = shrink(
    scenario,
    { seed, schedule: failure.schedule, design, defects },
    { maxRuns: 2000 },
  );
  const recorded = { seed, schedule: shrunk.executed, design, defects };
  const report = renderRaceReport(buildRaceReport(scenario, recorded));
  const token = encodeToken(scenario, { ...recorded, strategy: failure.strategy });
  if (outDir === null) return { report, token, depth: shrunk.preemptions, files: null };
  const replayed = replayRecorded(scenario, recorded, true);
  const trace = replayed.result.trace;
  if (trace === null) throw new Error(`scenario ${scenario.name} ignores ctx.trace`);
  mkdirSync(outDir, { recursive: true });
  const files = {
    perfetto: join(outDir, "trace.perfetto.json"),
    runFile: join(outDir, "run.json"),
    log: join(outDir, "trace.log"),
    report: join(outDir, "report.txt"),
  };
  writeFileSync(files.perfetto, serializeChromeTrace(toChromeTrace(trace, replayed.violations)));
  const run = buildRunFile(
    replayed.result,
    { scenario: scenario.name, design, defects, seed, strategy: failure.strategy },
    [],
    report,
  );
  writeFileSync(files.runFile, serializeRunFile(run));
  writeFileSync(files.log, toTextLog(trace, replayed.violations));
  writeFileSync(files.report, `${report}\n\nreplay: odpsim replay ${token}\n`);
  return { report, token, depth: shrunk.preemptions, files };
}
