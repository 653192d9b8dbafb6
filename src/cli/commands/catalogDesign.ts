/**
 * `odpsim catalog check --design ./my-design.ts [--defect ID ...]`: every mlx5 catalog
 * scenario explored under a user's design module (src/check/catalog/designCheck.ts),
 * one line per scenario, and the exit code of the worst outcome.
 *
 * Models no kernel file.
 */
import pc from "picocolors";
import {
  catalogScenarioGroups,
  designCheck,
  type DesignCheckEntry,
  type DesignCheckResult,
} from "../../check/catalog/designCheck.ts";
import { catalogScenarioRef } from "../../check/catalog/scenarioRefs.ts";
import { withEra } from "../../check/catalog/catalog.ts";
import { defectProblem } from "../../scenario/validate.ts";
import { mlx5OdpDesign, userMlx5OdpDesign } from "../../rdma/mlx5/odp/designs.ts";
import { loadDesignModule, withDesignModule } from "../designModules.ts";
import { EXIT_INCONCLUSIVE, EXIT_INTERNAL_ERROR, EXIT_OK, EXIT_VIOLATION } from "../exitCodes.ts";
import { defectsOverride } from "../options.ts";
import { out } from "../output.ts";
import { startProgress } from "../progress.ts";
import { UsageError } from "../usageError.ts";

export interface DesignCheckFlags {
  readonly json: boolean;
  readonly budget: number;
  readonly workers: number;
  readonly design?: string;
  readonly defect: string[];
}

/** `catalog check` with `--defect` but no `--design`: the defects are a design's. */
export function defectWithoutDesign(flags: DesignCheckFlags): void {
  if (flags.design === undefined && flags.defect.length > 0) {
    throw new UsageError(
      "--defect goes with --design ./my-design.ts (without it, catalog check switches each entry's defect on and off)",
    );
  }
}

export async function runDesignCheck(flags: DesignCheckFlags & { design: string }) {
  const design = await loadDesignModule(flags.design);
  const defects = checkedDefects(design, flags.defect);
  const progress = startProgress(
    "catalog check",
    "scenarios",
    catalogScenarioGroups().length,
    flags,
  );
  const result = await designCheck({
    design,
    defects,
    budget: flags.budget,
    workers: flags.workers,
    workerRef: (scenario) => withDesignModule(catalogScenarioRef(scenario), design),
    onScenario: (done) => {
      progress.tick(done);
    },
  });
  progress.end();
  if (flags.json) out(JSON.stringify(result));
  else renderDesignCheck(result);
  return designCheckExitCode(result);
}

/** `--defect` ids, each the design's own or a catalog defect of its generation, with era. */
function checkedDefects(design: string, asked: readonly string[]): string[] {
  const defects = defectsOverride(asked) ?? [];
  const own = userMlx5OdpDesign(design)?.defects ?? [];
  for (const id of defects) {
    const problem = defectProblem(id, design);
    if (problem === null) continue;
    const core = mlx5OdpDesign(design).core.name;
    const declared = own.length === 0 ? "none" : own.join(", ");
    throw new UsageError(
      `${problem}; ${design} declares: ${declared}; or a catalog defect of ${core}`,
    );
  }
  return withEra(defects);
}

/**
 * 3 if a search met an internal error, 1 if any found a violation, 4 if any was cut
 * off by the step bound, else 0: an inconclusive scenario never passes as clean.
 */
export function designCheckExitCode(result: DesignCheckResult): number {
  const { entries } = result;
  if (entries.some((e) => e.errorToken !== null)) return EXIT_INTERNAL_ERROR;
  if (entries.some((e) => e.status === "violation")) return EXIT_VIOLATION;
  if (entries.some((e) => e.status === "inconclusive")) return EXIT_INCONCLUSIVE;
  return EXIT_OK;
}

function renderDesignCheck(result: DesignCheckResult): void {
  const defects = result.defects.length === 0 ? "none" : result.defects.join(", ");
  out(`design ${result.design}; defects ${defects}; ${result.budget} schedules per scenario`);
  const width = Math.max(...result.entries.map((e) => e.scenario.length));
  for (const e of result.entries) out(`${e.scenario.padEnd(width)}  ${entryLine(e)}`);
  for (const e of result.entries) {
    const token = e.violation?.token ?? e.errorToken;
    if (token === null) continue;
    out(`${e.scenario}: ${e.violation?.kind ?? "internal error"}`);
    out(`replay: odpsim replay ${token}`);
  }
}

function entryLine(e: DesignCheckEntry): string {
  const v = e.violation;
  switch (e.status) {
    case "clean":
      return `${pc.green("clean")} in ${e.schedulesRun} schedules`;
    case "violation": {
      const finding = v?.finding == null ? "" : ` (documented finding ${v.finding})`;
      return `${pc.red("violation")} ${v?.kind ?? "?"}${finding} after ${e.schedulesToFind ?? "-"} schedules, depth ${v?.depth ?? "-"}`;
    }
    case "inconclusive":
      return `${pc.yellow("inconclusive")}: ${e.reason ?? "?"}`;
    case "skipped":
      return `${pc.dim("skipped")}: ${e.reason ?? "?"}`;
  }
}
