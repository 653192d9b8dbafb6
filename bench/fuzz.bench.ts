/**
 * `odpsim fuzz` against the catalog: for each catalog defect of an mlx5 ODP design, the
 * seconds and programs a campaign from seed 0 (one worker, no scenario given) needs to
 * find it, and whether it does within the budget.
 *
 * A failure counts as the defect's only if the same program run with the defect off (its
 * era kept) does not fail the same way; a failure that does is a property of the design
 * (a finding, counted apart), and the campaign goes on after it. Programs are not shrunk
 * here: the figure is the time to detect. The budget per defect is FUZZ_BENCH_SECONDS
 * (default 300, issue #19's target) of wall clock; it only decides where a search stops.
 * FUZZ_BENCH_ONLY=id,id hunts only those defects.
 */
import type { BenchResult } from "./result.ts";
import { CATALOG, entryDefects, type CatalogEntry } from "../src/check/catalog/catalog.ts";
import { isMlx5OdpDesignName } from "../src/rdma/mlx5/odp/designs.ts";
import { runCampaign, DEFAULT_SCHEDULES_PER_PROGRAM } from "../src/scenario/fuzz/campaign.ts";
import { judgeProgram } from "../src/scenario/fuzz/judgeProgram.ts";

const BUDGET_SECONDS = Number(process.env.FUZZ_BENCH_SECONDS ?? 300);
/** FUZZ_BENCH_ONLY=id,id: hunt only these defects (to spend a long budget on a few). */
const ONLY = process.env.FUZZ_BENCH_ONLY?.split(",") ?? null;

interface Hunt {
  readonly found: boolean;
  readonly seconds: number;
  readonly programs: number;
  /** Failures that were the design's own, not the defect's. */
  readonly designFailures: number;
  readonly key: string | null;
}

/** Whether a failure of `spec` with this key shows with the defect off too. */
function showsWithoutDefect(
  entry: CatalogEntry,
  failure: { original: unknown; programSeed: number; key: string },
) {
  const spec = failure.original as Parameters<typeof judgeProgram>[0];
  const fixed = { ...spec, defects: entryDefects(entry, true) };
  if (fixed.defects.length === 0) delete (fixed as { defects?: string[] }).defects;
  return (
    judgeProgram(fixed, failure.programSeed, DEFAULT_SCHEDULES_PER_PROGRAM).key === failure.key
  );
}

function hunt(entry: CatalogEntry): Hunt {
  const start = performance.now();
  const deadline = start + BUDGET_SECONDS * 1000;
  let from = 0;
  let designFailures = 0;
  for (;;) {
    const r = runCampaign({
      design: entry.design,
      defects: entryDefects(entry),
      seed: 0,
      from,
      maxShrinks: 0,
      shouldStop: () => performance.now() >= deadline,
    });
    const f = r.failure;
    const seconds = (performance.now() - start) / 1000;
    if (f === null)
      return {
        found: false,
        seconds,
        programs: Math.max(from, r.reached),
        designFailures,
        key: null,
      };
    if (!showsWithoutDefect(entry, f)) {
      return { found: true, seconds, programs: f.program + 1, designFailures, key: f.key };
    }
    designFailures++;
    from = f.program + 1;
  }
}

// eslint-disable-next-line @typescript-eslint/require-await -- the suite interface is async
export async function fuzzBenchmarks(): Promise<BenchResult[]> {
  const entries = CATALOG.filter(
    (e) => isMlx5OdpDesignName(e.design) && (ONLY === null || ONLY.includes(e.id)),
  );
  const hunts = entries.map((e) => {
    const h = hunt(e);
    process.stderr.write(
      `fuzz ${e.id}: ${h.found ? `found in ${h.seconds.toFixed(1)} s, ${h.programs} programs (${h.key ?? ""})` : `not found in ${h.seconds.toFixed(0)} s, ${h.programs} programs`}; ${h.designFailures} design failures on the way\n`,
    );
    return h;
  });
  const found = hunts.filter((h) => h.found).length;
  return [
    {
      id: "fuzz.defects_found",
      value: found,
      unit: `of ${entries.length} within ${BUDGET_SECONDS} s each`,
    },
    ...entries.flatMap((e, i) => {
      const h = hunts[i] as Hunt;
      return [
        {
          id: `fuzz.seconds_to_find.${e.id}`,
          value: h.found ? h.seconds : Number.NaN,
          unit: h.found ? "s" : `s (not found in ${BUDGET_SECONDS} s)`,
        },
        {
          id: `fuzz.programs_to_find.${e.id}`,
          value: h.programs,
          unit: h.found ? "programs" : "programs run (not found)",
        },
      ];
    }),
  ];
}
