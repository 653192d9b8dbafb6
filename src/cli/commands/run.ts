/**
 * `odpsim run <scenario>`: run a scenario file once (a uniform random schedule from the
 * seed) and print its report; optionally write a Perfetto trace.
 *
 * Models no kernel file.
 */
import type { Command } from "commander";
import { serializeChromeTrace, toChromeTrace } from "../../output/perfetto.ts";
import { SCENARIO_DESIGN_NAMES } from "../../scenario/designs.ts";
import { loadScenario } from "../../scenario/compile.ts";
import {
  effectiveConfigProblem,
  renderRunReport,
  runOnce,
  runTargetOnce,
  type RunReport,
} from "../../scenario/runOnce.ts";
import type { ScenarioRun } from "../../check/scenario.ts";
import { isDesignModule, loadDesignModule } from "../designModules.ts";
import { resolveModuleScenario } from "../explore/resolve.ts";
import { isScenarioModule } from "../scenarioModules.ts";
import { DEFAULT_RUN_TIMING, type Timing } from "../../sim/timing.ts";
import { exitCodeOf, type SetExitCode } from "../exitCodes.ts";
import {
  collectDefects,
  defectsOverride,
  intOption,
  timingHelp,
  timingOption,
} from "../options.ts";
import { out } from "../output.ts";
import { checkOutputFile, writeOutputFile } from "../outputPaths.ts";
import { UsageError } from "../usageError.ts";

interface RunFlags {
  readonly design?: string;
  readonly defect: string[];
  readonly seed: number;
  readonly trace?: string;
  readonly timing: Timing;
  readonly json: boolean;
}

export function addRunCommand(program: Command, setCode: SetExitCode): void {
  program
    .command("run <scenario>")
    .description("run a scenario file once (uniform random schedule from the seed)")
    .option(
      "--design <d>",
      `${SCENARIO_DESIGN_NAMES.join(" | ")} | ./my-design.ts (overrides the file's)`,
    )
    .option(
      "--defect <id>",
      "switch a catalog defect on (repeatable; overrides the file's; none: no defect)",
      collectDefects,
      [],
    )
    .option("--seed <s>", "the run's seed", intOption("--seed", 0, Number.MAX_SAFE_INTEGER), 0)
    .option("--trace <file>", "also write a Perfetto trace of the run")
    .option("--timing <t>", timingHelp(DEFAULT_RUN_TIMING), timingOption, DEFAULT_RUN_TIMING)
    .option("--json", "print JSON", false)
    .addHelpText(
      "after",
      "\nExamples:\n  odpsim run examples/01-explicit-fault-in.yaml\n" +
        "  odpsim run examples/10-catalog-no-retry-check.yaml --seed 7 --trace trace.json",
    )
    .action(async (file: string, o: RunFlags) => {
      if (o.design !== undefined && isDesignModule(o.design)) await loadDesignModule(o.design);
      setCode(isScenarioModule(file) ? await runModule(file, o) : runRun(file, o));
    });
}

/** A user's module, run once: the run's verdict and violations, as for a file. */
async function runModule(file: string, flags: RunFlags): Promise<number> {
  const { scenario, design, defects } = await resolveModuleScenario(
    file,
    flags.design,
    defectsOverride(flags.defect) ?? [],
  );
  if (flags.trace !== undefined) checkOutputFile(flags.trace, "--trace");
  const target = { scenario, file, design, defects, expectedViolation: null };
  return printRun(runTargetOnce(target, runOptions(flags)), flags);
}

function runRun(file: string, flags: RunFlags): number {
  const scenario = loadScenario(file);
  const defects = defectsOverride(flags.defect);
  const problem = effectiveConfigProblem(scenario, flags.design, defects);
  if (problem !== null) throw new UsageError(problem);
  if (flags.trace !== undefined) checkOutputFile(flags.trace, "--trace");
  const run = runOnce(scenario, { ...runOptions(flags), design: flags.design, defects });
  return printRun(run, flags);
}

function runOptions(flags: RunFlags): { seed: number; timing: Timing; trace: boolean } {
  return { seed: flags.seed, timing: flags.timing, trace: flags.trace !== undefined };
}

/** The report as text or JSON, the trace if asked for; the run's exit code. */
function printRun({ report, run }: { report: RunReport; run: ScenarioRun }, flags: RunFlags) {
  out(flags.json ? JSON.stringify(report) : renderRunReport(report));
  const trace = run.result.trace;
  if (flags.trace !== undefined && trace !== null) {
    writeOutputFile(flags.trace, serializeChromeTrace(toChromeTrace(trace, run.violations)));
    if (!flags.json) out(`trace written to ${flags.trace} (open it in https://ui.perfetto.dev)`);
  }
  return exitCodeOf(report.verdict);
}
