/**
 * `odpsim replay <token>`: replay a run from its token and print its report; optionally
 * write a Perfetto trace.
 *
 * Models no kernel file.
 */
import type { Command } from "commander";
import { catalogScenarios } from "../../check/catalog/catalog.ts";
import {
  TokenError,
  decodeToken,
  replayToken,
  type ScenarioLookup,
  type TokenReplay,
} from "../../check/token.ts";
import { serializeChromeTrace, toChromeTrace } from "../../output/perfetto.ts";
import { DEFAULT_MLX5_ODP_DESIGN } from "../../rdma/mlx5/odp/designs.ts";
import { loadScenario } from "../../scenario/compile.ts";
import type { InternalError } from "../../sim/violation.ts";
import { EXIT_INTERNAL_ERROR, EXIT_OK, EXIT_VIOLATION, type SetExitCode } from "../exitCodes.ts";
import { failureArtifacts, type FailureArtifacts } from "../failureArtifacts.ts";
import { isDesignModule, loadDesignModule } from "../designModules.ts";
import { out } from "../output.ts";
import { isScenarioModule, loadScenarioModule } from "../scenarioModules.ts";
import { checkOutputFile, writeOutputFile } from "../outputPaths.ts";
import { UsageError } from "../usageError.ts";
import { addReportOptions, reportJsonFields, type ReportOptions } from "../reportOptions.ts";

interface ReplayFlags extends ReportOptions {
  readonly trace?: string;
  readonly json: boolean;
}

export function addReplayCommand(program: Command, setCode: SetExitCode): void {
  const replay = program.command("replay <token>");
  addReportOptions(replay);
  replay
    .description("replay a run from its token and print its report")
    .option("--trace <file>", "also write a Perfetto trace")
    .option("--json", "print JSON", false)
    .addHelpText(
      "after",
      "\nExamples (TOKEN: the replay token explore printed, or a report.txt's last line):\n" +
        "  odpsim replay TOKEN\n" +
        "  odpsim replay TOKEN --format kernel\n" +
        "  odpsim replay TOKEN --json --trace trace.json",
    )
    .action(async (token: string, o: ReplayFlags) => {
      setCode(await runReplay(token, o));
    });
}

async function runReplay(token: string, flags: ReplayFlags): Promise<number> {
  if (flags.trace !== undefined) checkOutputFile(flags.trace, "--trace");
  const replay = await resolveReplay(token);
  const data = replay.token;
  const error = replay.run.result.internalError;
  if (error !== null) {
    renderInternalError(replay, error, flags.json);
    return EXIT_INTERNAL_ERROR;
  }
  if (replay.run.violations.length === 0) {
    renderClean(replay, flags.json);
    return EXIT_OK;
  }
  const art = failureArtifacts(
    {
      scenario: replay.scenario,
      seed: data.seed,
      timing: data.timing,
      schedule: Uint32Array.from(data.schedule),
      strategy: data.strategy,
      design: data.design ?? DEFAULT_MLX5_ODP_DESIGN,
      defects: data.defects,
      ...(data.faults === null ? {} : { faults: data.faults }),
      omit: data.omit,
    },
    null,
    flags,
  );
  const trace = replay.run.result.trace;
  if (flags.trace !== undefined && trace !== null) {
    writeOutputFile(flags.trace, serializeChromeTrace(toChromeTrace(trace, replay.run.violations)));
  }
  renderReplay(replay, art, flags);
  return EXIT_VIOLATION;
}

/** The token's run ended in an odpsim internal error: show it, as it happened. */
function renderInternalError(replay: TokenReplay, error: InternalError, json: boolean): void {
  if (json) {
    out(JSON.stringify({ scenario: replay.scenario.name, internalError: error }));
    return;
  }
  out(`odpsim internal error at step ${error.step}, task ${error.task ?? "-"}: ${error.message}`);
  if (error.stack !== undefined) out(error.stack);
}

/** A token whose run breaks nothing (made by hand, or of a run that passed). */
function renderClean(replay: TokenReplay, json: boolean): void {
  if (json) {
    out(
      JSON.stringify({
        scenario: replay.scenario.name,
        traceHash: replay.traceHash,
        violations: [],
      }),
    );
    return;
  }
  out(`replayed ${replay.run.result.steps} steps of ${replay.scenario.name}: no violation`);
}

/** The token decoded and its run replayed; a bad token is a UsageError. */
async function resolveReplay(token: string): Promise<TokenReplay> {
  try {
    return replayToken(token, await replayLookup(token));
  } catch (error) {
    if (error instanceof TokenError)
      throw new UsageError(`bad replay token (${error.reason}): ${error.message}`);
    throw error;
  }
}

/** Where a token's scenario is: the scenario file or module it names, else the catalog. */
async function replayLookup(token: string): Promise<ScenarioLookup> {
  const data = decodeToken(token);
  // A user's design module is loaded again; replayToken compares its source's hash.
  if (data.designHash !== null && data.design !== null && isDesignModule(data.design)) {
    await loadDesignModule(data.design);
  }
  const file = data.file;
  if (file === null) return catalogScenarios();
  const scenario = isScenarioModule(file)
    ? (
        await loadScenarioModule(file, {
          ...(data.design === null ? {} : { design: data.design }),
          defects: data.defects,
        })
      ).scenario
    : loadScenario(file);
  return (name) => (name === scenario.name ? scenario : undefined);
}

function renderReplay(replay: TokenReplay, art: FailureArtifacts, flags: ReplayFlags): void {
  if (flags.json) {
    out(
      JSON.stringify({
        scenario: replay.scenario.name,
        traceHash: replay.traceHash,
        violations: replay.run.violations,
        depth: art.depth,
        ...reportJsonFields(art.report, art.raceReport),
      }),
    );
    return;
  }
  out(art.report);
  if (flags.trace !== undefined) out(`trace written to ${flags.trace}`);
}
