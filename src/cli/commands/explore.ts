/**
 * `odpsim explore <scenario>`: search interleavings of a catalog scenario or a scenario
 * file for a violation. Resolve (flags to a search), search and render are apart, in
 * src/cli/explore/.
 *
 * Models no kernel file.
 */
import type { Command } from "commander";
import { FAULT_SITES } from "../../check/faults.ts";
import { UVERBS_MMAP_DESIGN_NAMES } from "../../rdma/core/uverbs/designs.ts";
import { MLX5_ODP_DESIGN_NAMES } from "../../rdma/mlx5/odp/designs.ts";
import { PCT_DEFAULT_DEPTH } from "../../check/strategies/pct.ts";
import { exitCodeOf, type SetExitCode } from "../exitCodes.ts";
import { exploreOutcome } from "../explore/outcome.ts";
import { exploreJson, renderExplore } from "../explore/render.ts";
import { resolveExplore, type ExploreFlags } from "../explore/resolve.ts";
import { out } from "../output.ts";
import { schedulesOf } from "../explore/search.ts";
import { startProgress } from "../progress.ts";
import { addReportOptions } from "../reportOptions.ts";
import {
  collect,
  collectDefects,
  intOption,
  rateOption,
  reductionOption,
  shardOption,
  strategyOption,
  timingHelp,
  timingOption,
} from "../options.ts";
import { DEFAULT_EXPLORE_TIMING } from "../../sim/timing.ts";

export function addExploreCommand(program: Command, setCode: SetExitCode): void {
  const explore = program.command("explore <scenario>");
  addReportOptions(explore);
  explore
    .description("search interleavings of a scenario for a violation")
    .option(
      "--design <d>",
      `${MLX5_ODP_DESIGN_NAMES.join(" | ")} | ./my-design.ts (a file: also ${UVERBS_MMAP_DESIGN_NAMES.join(" | ")})`,
    )
    .option(
      "--defect <id>",
      "switch a catalog defect on (repeatable; for a file, overrides its defects; none: no defect)",
      collectDefects,
      [],
    )
    .option("--strategy <s>", "random | pct | dfs", strategyOption, "random")
    .option("--schedules <n>", "schedules to try", intOption("--schedules", 1, 100_000_000), 20_000)
    .option("--seed <s>", "base seed", intOption("--seed", 0, Number.MAX_SAFE_INTEGER), 0)
    .option("--workers <n>", "worker threads", intOption("--workers", 1, 64), 1)
    .option(
      "--shard <k/n|auto>",
      "run shard k of n of the search; auto: this task's of a Slurm or Kubernetes job array",
      shardOption,
    )
    .option(
      "--shard-count <n>",
      "with --shard auto in a Kubernetes Indexed Job: the Job's completions",
      intOption("--shard-count", 1, 1_000_000),
    )
    .option(
      "--fault <site>",
      `inject faults at a site (repeatable): ${FAULT_SITES.join(", ")}`,
      collect,
      [],
    )
    .option("--fault-rate <p>", "chance that one visit of a site fails (default 0.05)", rateOption)
    .option("--out <dir>", "write the failure's report, Perfetto trace, run file and log there")
    .option(
      "--preemption-bound <n>",
      "dfs: preemptions allowed per schedule",
      intOption("--preemption-bound", 0, 1000),
      2,
    )
    .option("--reduction <r>", "dfs: sleep-sets | none", reductionOption, "sleep-sets")
    .option(
      "--pct-depth <d>",
      "pct: the bug depth searched for (d-1 priority change points)",
      intOption("--pct-depth", 1, 64),
      PCT_DEFAULT_DEPTH,
    )
    .option(
      "--timing <t>",
      timingHelp(DEFAULT_EXPLORE_TIMING),
      timingOption,
      DEFAULT_EXPLORE_TIMING,
    )
    .option("--json", "print JSON", false)
    .addHelpText(
      "after",
      "\nExamples:\n  odpsim explore fault-vs-invalidate --defect classic-no-retry-check\n" +
        "  odpsim explore fault-vs-invalidate --defect classic-no-retry-check --format kernel\n" +
        "  odpsim explore fault-vs-invalidate --defect classic-no-retry-check --out odpsim-out\n" +
        "  odpsim explore fault-vs-invalidate --design interval --fault umr\n" +
        "  odpsim explore examples/10-catalog-no-retry-check.yaml --schedules 500",
    )
    .action(async (name: string, o: ExploreFlags) => {
      setCode(await runExplore(name, o));
    });
}

async function runExplore(name: string, flags: ExploreFlags): Promise<number> {
  const job = await resolveExplore(name, flags);
  const progress = startProgress("explore", "schedules", schedulesOf(job), flags);
  const outcome = await exploreOutcome(job, flags, flags.out ?? null, (done) => {
    progress.tick(done);
  });
  progress.end();
  if (flags.json) out(JSON.stringify(exploreJson(job, outcome)));
  else renderExplore(job, outcome);
  return exitCodeOf(outcome.result.verdict);
}
