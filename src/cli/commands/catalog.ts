/**
 * `odpsim catalog` (list the catalog of historical bugs) and `odpsim catalog check`
 * (explore every entry with its defect on and off).
 *
 * Models no kernel file.
 */
import type { Command } from "commander";
import pc from "picocolors";
import { CATALOG } from "../../check/catalog/catalog.ts";
import {
  catalogCheck,
  entryPassed,
  fixedSummary,
  type CatalogCheckResult,
} from "../../check/catalog/catalogCheck.ts";
import { EXIT_INTERNAL_ERROR, EXIT_OK, EXIT_VIOLATION, type SetExitCode } from "../exitCodes.ts";
import { hmmMirrorDefaultLines } from "../../rdma/mlx5/odp/hmmMirrorAsPosted.ts";
import { collectDefects, intOption } from "../options.ts";
import { defectWithoutDesign, runDesignCheck, type DesignCheckFlags } from "./catalogDesign.ts";
import { ID_WIDTH, out } from "../output.ts";
import { startProgress } from "../progress.ts";

type CheckFlags = DesignCheckFlags;

export function addCatalogCommand(program: Command, setCode: SetExitCode): void {
  const catalog = program
    .command("catalog")
    .description("list the catalog of historical bugs")
    .option("--json", "print JSON", false)
    .addHelpText(
      "after",
      "\nExamples:\n  odpsim catalog\n  odpsim catalog --json\n" +
        "  odpsim catalog check --budget 2000",
    )
    .action((o: { json: boolean }) => {
      if (o.json) out(JSON.stringify(catalogJson()));
      else catalogTable();
    });
  catalog
    .command("check")
    .description("explore every entry with its defect on and off")
    .option("--json", "print JSON", false)
    .option("--budget <n>", "schedules per search", intOption("--budget", 1, 10_000_000), 20_000)
    .option("--workers <n>", "worker threads", intOption("--workers", 1, 64), 1)
    .option("--design <path>", "explore every mlx5 scenario under your design module instead")
    .option("--defect <id>", "with --design: switch its defect on (repeatable)", collectDefects, [])
    .addHelpText(
      "after",
      "\nExamples:\n  odpsim catalog check --budget 2000 --json\n" +
        "  odpsim catalog check --design ./my-design.ts --defect my-bug --budget 2000",
    )
    .action(async (o: CheckFlags) => {
      defectWithoutDesign(o);
      const { design } = o;
      setCode(await (design === undefined ? runCatalogCheck(o) : runDesignCheck({ ...o, design })));
    });
}

function catalogJson() {
  return CATALOG.map((e) => ({
    id: e.id,
    design: e.design,
    title: e.title,
    fix: e.fix,
    scenario: e.scenario.name,
  }));
}

function catalogTable(): void {
  for (const e of CATALOG)
    out(
      `${String(e.number).padStart(2)}  ${e.id.padEnd(ID_WIDTH)} ${e.design.padEnd(10)} ${e.title}`,
    );
  out("");
  for (const line of hmmMirrorDefaultLines()) out(line);
}

async function runCatalogCheck(flags: CheckFlags): Promise<number> {
  const progress = startProgress("catalog check", "entries", CATALOG.length, flags);
  const result = await catalogCheck(CATALOG, {
    budget: flags.budget,
    workers: flags.workers,
    onEntry: (done) => {
      progress.tick(done);
    },
  });
  progress.end();
  if (flags.json) out(JSON.stringify(result));
  else renderCatalogCheck(result);
  return catalogExitCode(result);
}

/** 3 if any search hit an internal error, 0 if every entry passed, else 1. */
function catalogExitCode(result: CatalogCheckResult): number {
  if (result.entries.some((e) => e.internalError !== null)) return EXIT_INTERNAL_ERROR;
  return result.entries.every(entryPassed) ? EXIT_OK : EXIT_VIOLATION;
}

function renderCatalogCheck(result: CatalogCheckResult): void {
  for (const e of result.entries) {
    const verdict = e.found ? pc.green("found") : pc.red(`NOT FOUND (${e.buggyVerdict})`);
    const summary = fixedSummary(e);
    const fixed = summary.ok ? pc.green(summary.text) : pc.red(summary.text);
    if (e.internalError !== null) out(pc.red(`${e.id}: odpsim internal error: ${e.internalError}`));
    out(
      `${e.id.padEnd(ID_WIDTH)} ${verdict} after ${e.schedulesToFind ?? "-"} schedules ` +
        `(${e.secondsToFind?.toFixed(3) ?? "-"} s, depth ${e.depth ?? "-"}, ${e.violation ?? "-"}); ` +
        `fixed: ${fixed} in ${e.fixedSchedules}`,
    );
  }
  out(`${Math.round(result.schedulesPerSecond)} schedules/s`);
}
