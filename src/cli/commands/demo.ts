/**
 * `odpsim demo`: the catalog check in a quick mode, then the first defect's report and
 * files.
 *
 * Models no kernel file.
 */
import type { Command } from "commander";
import pc from "picocolors";
import { CATALOG, entryDefects, type CatalogEntry } from "../../check/catalog/catalog.ts";
import {
  catalogCheck,
  entryPassed,
  fixedSummary,
  type CatalogCheckResult,
} from "../../check/catalog/catalogCheck.ts";
import { explore } from "../../check/explore.ts";
import { EXIT_OK, EXIT_VIOLATION, type SetExitCode } from "../exitCodes.ts";
import { failureArtifacts } from "../failureArtifacts.ts";
import { intOption } from "../options.ts";
import { ID_WIDTH, out, printArtifactFiles } from "../output.ts";
import { startProgress } from "../progress.ts";

export function addDemoCommand(program: Command, setCode: SetExitCode): void {
  program
    .command("demo")
    .description("the catalog check in a quick mode, then the first defect's report and files")
    .option("--budget <n>", "schedules per search", intOption("--budget", 1, 1_000_000), 1000)
    .addHelpText("after", "\nExample:\n  odpsim demo --budget 500")
    .action(async (o: { budget: number }) => {
      setCode(await runDemo(o.budget));
    });
}

async function runDemo(budget: number): Promise<number> {
  out(pc.bold("odpsim demo: the catalog of real ODP bugs, found by the explorer"));
  out();
  const progress = startProgress("catalog", "entries", CATALOG.length, { json: false });
  const result = await catalogCheck(CATALOG, {
    budget,
    onEntry: (done) => {
      progress.tick(done);
    },
  });
  progress.end();
  renderDemoTable(result, budget);
  const first = CATALOG[0];
  if (first === undefined) return EXIT_OK;
  if (!showFirstFailure(first, budget)) return EXIT_VIOLATION;
  return result.entries.every(entryPassed) ? EXIT_OK : EXIT_VIOLATION;
}

function renderDemoTable(result: CatalogCheckResult, budget: number): void {
  out(
    `${"defect".padEnd(ID_WIDTH)} ${"found after".padEnd(16)} ${"seconds".padEnd(8)} depth  fixed design`,
  );
  for (const e of result.entries) {
    const found = e.found ? `${e.schedulesToFind} schedules` : pc.red("not found");
    const summary = fixedSummary(e);
    const fixed = summary.ok
      ? pc.green(`${summary.text} in ${e.fixedSchedules}`)
      : pc.red(summary.text);
    out(
      `${e.id.padEnd(ID_WIDTH)} ${found.padEnd(16)} ${(e.secondsToFind?.toFixed(3) ?? "-").padEnd(8)} ${String(e.depth ?? "-").padEnd(6)} ${fixed}`,
    );
  }
  out(`(${Math.round(result.schedulesPerSecond)} schedules/s; budget ${budget} per search)`);
}

/** Finds the entry's bug again and prints its report and files; false if not found. */
function showFirstFailure(entry: CatalogEntry, budget: number): boolean {
  const defects = entryDefects(entry);
  const found = explore(entry.scenario, {
    strategy: "random",
    schedules: budget,
    defects,
    design: entry.design,
  });
  if (found.firstFailure === null) return false;
  const art = failureArtifacts(
    {
      scenario: entry.scenario,
      seed: found.firstFailure.seed,
      timing: found.firstFailure.timing,
      schedule: found.firstFailure.schedule,
      strategy: "random",
      design: entry.design,
      defects,
    },
    "odpsim-out",
  );
  out();
  out(pc.bold(`#${entry.number} ${entry.id}: ${entry.title}`));
  out(art.report);
  out();
  out(`replay:   odpsim replay ${art.token}`);
  if (art.files !== null) printArtifactFiles(art.files);
  return true;
}
