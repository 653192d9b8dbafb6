/**
 * `odpsim explore`'s resolve step: from the command line's scenario name and flags to the
 * scenario, design, defects and explorer options a search runs with. Every input problem
 * (an unknown scenario, design, defect or fault site) is a UsageError here, before any
 * search starts.
 *
 * Models no kernel file.
 */
import { CATALOG, catalogEntry, catalogScenarios, withEra } from "../../check/catalog/catalog.ts";
import type { ReportFormat } from "../../check/renderReport.ts";
import type { DfsReduction, ExploreOptions, StrategyName } from "../../check/explore.ts";
import { FAULT_SITES, type FaultPlan } from "../../check/faults.ts";
import type { Scenario } from "../../check/scenario.ts";
import type { Shard } from "../../check/shard.ts";
import type { Timing } from "../../sim/timing.ts";
import {
  DEFAULT_MLX5_ODP_DESIGN,
  isMlx5OdpDesignName,
  mlx5OdpDesignNames,
} from "../../rdma/mlx5/odp/designs.ts";
import { isDesignModule, loadDesignModule } from "../designModules.ts";
import { loadScenario, type CompiledScenario } from "../../scenario/compile.ts";
import { effectiveConfig, effectiveConfigProblem } from "../../scenario/runOnce.ts";
import { defectProblem } from "../../scenario/validate.ts";
import { scenarioDesignNames } from "../../scenario/designs.ts";
import { defectsOverride } from "../options.ts";
import { checkOutputDir } from "../outputPaths.ts";
import { shardFromEnvironment, ShardAutoError } from "../shardAuto.ts";
import { FirstRunnable } from "../../sim/strategies/firstRunnable.ts";
import { isScenarioModule, loadScenarioModule } from "../scenarioModules.ts";
import { UsageError } from "../usageError.ts";

/** `odpsim explore`'s flags, as commander parsed them. */
export interface ExploreFlags {
  readonly design?: string;
  readonly defect: string[];
  readonly strategy: StrategyName;
  readonly schedules: number;
  readonly seed: number;
  readonly workers: number;
  readonly shard?: Shard | "auto";
  readonly shardCount?: number;
  readonly json: boolean;
  readonly fault: string[];
  readonly faultRate?: number;
  readonly out?: string;
  readonly preemptionBound: number;
  readonly reduction: DfsReduction;
  readonly pctDepth: number;
  readonly timing: Timing;
  readonly full: boolean;
  readonly format: ReportFormat;
}

/** Explorer options with every field the command line sets always present. */
export type ResolvedOptions = ExploreOptions &
  Required<
    Pick<
      ExploreOptions,
      "strategy" | "design" | "defects" | "preemptionBound" | "reduction" | "timing"
    >
  >;

/** One search, fully resolved. */
export interface ExploreJob {
  /** The scenario as named on the command line (a catalog name or a file path). */
  readonly name: string;
  readonly scenario: Scenario;
  /** Loaded from a scenario file rather than the catalog. */
  readonly isFile: boolean;
  readonly source: ScenarioSource;
  /** What `explore` runs with. */
  readonly options: ResolvedOptions;
  readonly workers: number;
  readonly shard?: Shard;
}

export async function resolveExplore(name: string, flags: ExploreFlags): Promise<ExploreJob> {
  if (isScenarioModule(name)) return resolveModule(name, flags);
  // A user's design module: registered before any name is checked against the designs.
  if (flags.design !== undefined && isDesignModule(flags.design)) {
    await loadDesignModule(flags.design);
  }
  const file: CompiledScenario | null = isScenarioFile(name) ? loadScenario(name) : null;
  const scenario = file ?? catalogScenarios().get(name);
  if (scenario === undefined) {
    throw new UsageError(
      `unknown scenario "${name}"; known: ${[...catalogScenarios().keys()].join(", ")} or a .yaml file`,
    );
  }
  const asked = defectsOverride(flags.defect);
  const config =
    file === null
      ? catalogConfig(scenario, flags.design, asked ?? [])
      : effectiveConfig(file, flags.design, asked);
  const design = config.design;
  const designs = file === null ? designsOf(scenario) : scenarioDesignNames();
  if (!designs.includes(design)) {
    throw new UsageError(
      `design "${design}" is not modelled for ${name}; try ${designs.join(", ")}`,
    );
  }
  const problem =
    file === null
      ? (config.defects.map((id) => defectProblem(id, design)).find((p) => p !== null) ?? null)
      : effectiveConfigProblem(file, flags.design, asked);
  if (problem !== null) throw new UsageError(problem);
  const defects = withEra(config.defects);
  return jobOf(name, scenario, file !== null ? "file" : "catalog", flags, design, defects);
}

/**
 * A catalog scenario's design and defects: `--design`, else the design of the defects
 * asked for (a defect names its design), else that of the scenario's first entry.
 */
function catalogConfig(
  scenario: Scenario,
  design: string | undefined,
  defects: readonly string[],
): { design: string; defects: readonly string[] } {
  const ofDefect = defects.map((id) => catalogEntry(id)?.design).find((d) => d !== undefined);
  const ofScenario = CATALOG.find((e) => e.scenario === scenario)?.design;
  return { design: design ?? ofDefect ?? ofScenario ?? DEFAULT_MLX5_ODP_DESIGN, defects };
}

/** The design of a module that declares none. */
const NO_DESIGN = "none";

/** Where a job's scenario comes from: the catalog, a scenario file, a user's module. */
export type ScenarioSource = "catalog" | "file" | "module";

/** A user's module, loaded and checked against its flags. */
export interface ResolvedModule {
  readonly scenario: Scenario;
  readonly design: string;
  readonly defects: string[];
}

async function resolveModule(name: string, flags: ExploreFlags): Promise<ExploreJob> {
  const { scenario, design, defects } = await resolveModuleScenario(
    name,
    flags.design,
    defectsOverride(flags.defect) ?? [],
  );
  return jobOf(name, scenario, "module", flags, design, defects);
}

/**
 * A user's module (for explore and run): its own defects join the catalog's, its
 * designs replace mlx5's; the scenario is built once to catch a build that throws.
 */
export async function resolveModuleScenario(
  name: string,
  flagDesign: string | undefined,
  flagDefects: readonly string[],
): Promise<ResolvedModule> {
  const m = await loadScenarioModule(name, {
    ...(flagDesign === undefined ? {} : { design: flagDesign }),
    defects: flagDefects,
  });
  // A module without designs runs under none: it says so in reports and tokens.
  const designs = m.designs ?? [NO_DESIGN];
  const design = flagDesign ?? designs[0] ?? NO_DESIGN;
  if (!designs.includes(design)) {
    throw new UsageError(`design "${design}" is not one of ${name}'s: ${designs.join(", ")}`);
  }
  const known = new Set([...CATALOG.map((e) => e.id), ...m.defects]);
  for (const d of flagDefects) {
    if (!known.has(d)) {
      const own = m.defects.length === 0 ? "none" : m.defects.join(", ");
      throw new UsageError(`unknown defect "${d}" (${name} declares: ${own})`);
    }
  }
  const defects = withEra(flagDefects);
  trialBuild(name, m.scenario, design, defects);
  return { scenario: m.scenario, design, defects };
}

/** Builds the scenario once: a build that throws is the module's fault, told in one line. */
function trialBuild(name: string, scenario: Scenario, design: string, defects: string[]): void {
  try {
    scenario.build({ seed: 0, strategy: new FirstRunnable(), design, defects });
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    throw new UsageError(`${name}: the scenario's build threw: ${text.split("\n")[0] ?? text}`);
  }
}

function jobOf(
  name: string,
  scenario: Scenario,
  source: ScenarioSource,
  flags: ExploreFlags,
  design: string,
  defects: string[],
): ExploreJob {
  const faults = faultPlanOf(flags);
  if (flags.out !== undefined) checkOutputDir(flags.out, "--out");
  return {
    name,
    scenario,
    isFile: source === "file",
    source,
    options: {
      strategy: flags.strategy,
      schedules: flags.schedules,
      seed: flags.seed,
      design,
      defects,
      preemptionBound: flags.preemptionBound,
      reduction: flags.reduction,
      pctDepth: flags.pctDepth,
      timing: flags.timing,
      ...(faults === undefined ? {} : { faults }),
    },
    workers: flags.workers,
    ...shardOf(flags),
  };
}

/** `--shard`: as given, or for `auto` this task's of the job array it runs in. */
function shardOf(flags: ExploreFlags): { shard?: Shard } {
  if (flags.shard !== "auto") {
    if (flags.shardCount !== undefined) {
      throw new UsageError("--shard-count goes with --shard auto (in --shard k/n, n is the count)");
    }
    return flags.shard === undefined ? {} : { shard: flags.shard };
  }
  try {
    return { shard: shardFromEnvironment(process.env, flags.shardCount) };
  } catch (error) {
    if (error instanceof ShardAutoError) throw new UsageError(error.message);
    throw error;
  }
}

/** A scenario file rather than a catalog scenario name. */
function isScenarioFile(name: string): boolean {
  return /\.ya?ml$/i.test(name) || name.includes("/");
}

/** The designs a catalog scenario runs under: its entries' and, for ODP, every mlx5 design. */
function designsOf(scenario: Scenario): string[] {
  const own = CATALOG.filter((e) => e.scenario === scenario).map((e) => e.design);
  const odp = own.some(isMlx5OdpDesignName) ? mlx5OdpDesignNames() : [];
  return [...new Set([...own, ...odp])];
}

/** --fault values: known sites only. */
function faultPlanOf(flags: ExploreFlags): FaultPlan | undefined {
  if (flags.fault.length === 0) return undefined;
  const sites = flags.fault.map((f) => {
    const site = FAULT_SITES.find((s) => s === f);
    if (site === undefined) {
      throw new UsageError(`unknown fault site "${f}"; known: ${FAULT_SITES.join(", ")}`);
    }
    return site;
  });
  return flags.faultRate === undefined ? { sites } : { sites, probability: flags.faultRate };
}
