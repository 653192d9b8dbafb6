/**
 * `odpsim fuzz` against the catalog, blind and feedback side by side: for each catalog
 * defect of an mlx5 ODP design, the seconds and programs a campaign from seed 0 (one
 * worker, no scenario given) needs to find it under each strategy, hunted one after the
 * other in the same process, and whether it does within the budget.
 *
 * A failure counts as the defect's only if the same program run with the defect off (its
 * era kept) does not fail the same way; a failure that does is a property of the design
 * (a finding, counted apart), and the campaign goes on after it. Programs are not shrunk
 * here: the figure is the time to detect. The budget per defect and strategy is
 * FUZZ_BENCH_SECONDS (default 300, issue #19's target) of this process's CPU time, not
 * wall clock, so a shared machine slows a hunt down without cutting it short; it only
 * decides where a search stops. FUZZ_BENCH_ONLY=id,id hunts only those defects;
 * FUZZ_BENCH_STRATEGIES=blind,feedback (the default) the strategies compared.
 */
import type { BenchResult } from "./result.ts";
import { CATALOG, entryDefects, type CatalogEntry } from "../src/check/catalog/catalog.ts";
import { isMlx5OdpDesignName } from "../src/rdma/mlx5/odp/designs.ts";
import {
  runCampaign,
  DEFAULT_SCHEDULES_PER_PROGRAM,
  type CampaignFailure,
} from "../src/scenario/fuzz/campaign.ts";
import { judgeProgram } from "../src/scenario/fuzz/judgeProgram.ts";
import {
  FUZZ_STRATEGY_NAMES,
  isFuzzStrategyName,
  type FuzzStrategyName,
} from "../src/scenario/fuzz/strategies.ts";

const BUDGET_SECONDS = Number(process.env.FUZZ_BENCH_SECONDS ?? 300);
/** FUZZ_BENCH_ONLY=id,id: hunt only these defects (to spend a long budget on a few). */
const ONLY = process.env.FUZZ_BENCH_ONLY?.split(",") ?? null;
const STRATEGIES: readonly FuzzStrategyName[] =
  process.env.FUZZ_BENCH_STRATEGIES?.split(",").filter(isFuzzStrategyName) ?? FUZZ_STRATEGY_NAMES;

interface Hunt {
  readonly found: boolean;
  readonly seconds: number;
  /** CPU seconds of this process over the hunt (the machine may be shared). */
  readonly cpuSeconds: number;
  readonly programs: number;
  /** Failures that were the design's own, not the defect's. */
  readonly designFailures: number;
  /** Programs on which odpsim itself threw: model bugs, never counted as a find. */
  readonly internalErrors: number;
  readonly key: string | null;
}

/** Whether a failure of its program with this key shows with the defect off too. */
function showsWithoutDefect(entry: CatalogEntry, failure: CampaignFailure) {
  const fixed = { ...failure.original, defects: entryDefects(entry, true) };
  if (fixed.defects.length === 0) delete (fixed as { defects?: string[] }).defects;
  return (
    judgeProgram(fixed, failure.programSeed, DEFAULT_SCHEDULES_PER_PROGRAM).key === failure.key
  );
}

/** User and system CPU seconds of this process since `from`. */
function cpuSecondsSince(from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
}

function hunt(entry: CatalogEntry, strategy: FuzzStrategyName): Hunt {
  const start = performance.now();
  const cpu = process.cpuUsage();
  let designFailures = 0;
  let internalErrors = 0;
  const r = runCampaign({
    design: entry.design,
    defects: entryDefects(entry),
    seed: 0,
    strategy,
    maxShrinks: 0,
    shouldStop: () => cpuSecondsSince(cpu) >= BUDGET_SECONDS,
    onFailure: (f) => {
      if (f.type === "internal_error") {
        internalErrors++;
        return true;
      }
      if (!showsWithoutDefect(entry, f)) return false;
      designFailures++;
      return true;
    },
  });
  const seconds = (performance.now() - start) / 1000;
  const cpuSeconds = cpuSecondsSince(cpu);
  const f = r.failure;
  const common = { seconds, cpuSeconds, designFailures, internalErrors };
  if (f === null) return { ...common, found: false, programs: r.reached, key: null };
  return { ...common, found: true, programs: f.program + 1, key: f.key };
}

function describe(id: string, strategy: string, h: Hunt): string {
  const what = h.found
    ? `found in ${h.seconds.toFixed(1)} s (${h.cpuSeconds.toFixed(1)} s CPU), ${h.programs} programs (${h.key ?? ""})`
    : `not found in ${h.seconds.toFixed(0)} s (${h.cpuSeconds.toFixed(0)} s CPU), ${h.programs} programs`;
  const errors = h.internalErrors === 0 ? "" : `, ${h.internalErrors} INTERNAL ERRORS`;
  return `fuzz ${id} ${strategy}: ${what}; ${h.designFailures} design failures on the way${errors}\n`;
}

/** The ids of one strategy's figures: blind keeps the ids it had before strategies. */
function idOf(strategy: FuzzStrategyName, figure: string): string {
  return strategy === "blind" ? `fuzz.${figure}` : `fuzz.${strategy}.${figure}`;
}

// eslint-disable-next-line @typescript-eslint/require-await -- the suite interface is async
export async function fuzzBenchmarks(): Promise<BenchResult[]> {
  const entries = CATALOG.filter(
    (e) => isMlx5OdpDesignName(e.design) && (ONLY === null || ONLY.includes(e.id)),
  );
  const hunts = entries.map((e) =>
    STRATEGIES.map((s) => {
      const h = hunt(e, s);
      process.stderr.write(describe(e.id, s, h));
      return h;
    }),
  );
  return STRATEGIES.flatMap((s, k) => {
    const of = (i: number) => hunts[i]?.[k] as Hunt;
    const found = entries.filter((_, i) => of(i).found).length;
    return [
      {
        id: idOf(s, "defects_found"),
        value: found,
        unit: `of ${entries.length} within ${BUDGET_SECONDS} CPU s each`,
      },
      ...entries.flatMap((e, i) => {
        const h = of(i);
        return [
          {
            id: idOf(s, `seconds_to_find.${e.id}`),
            value: h.cpuSeconds,
            unit: h.found ? "CPU s" : "CPU s spent, not found",
          },
          {
            id: idOf(s, `programs_to_find.${e.id}`),
            value: h.programs,
            unit: h.found ? "programs" : "programs run (not found)",
          },
        ];
      }),
    ];
  });
}
