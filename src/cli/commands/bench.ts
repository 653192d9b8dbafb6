/**
 * `odpsim bench`: the benchmark suites, as `npm run bench`. They live beside the sources
 * (bench/) and need the dev dependencies, so they are loaded only when asked for.
 *
 * Models no kernel file.
 */
import type { Command } from "commander";
import type { SetExitCode } from "../exitCodes.ts";

interface BenchFlags {
  readonly filter?: string;
  readonly json: boolean;
}

export function addBenchCommand(program: Command, setCode: SetExitCode): void {
  program
    .command("bench")
    .description("run the benchmark suites (as npm run bench; needs the dev dependencies)")
    .option("--filter <prefix>", "only benchmarks whose id starts with this (e.g. nic.)")
    .option("--json", "print JSON", false)
    .addHelpText("after", "\nExamples:\n  odpsim bench --filter sim.\n  odpsim bench --json")
    .action(async (o: BenchFlags) => {
      setCode(await runBench(o));
    });
}

async function runBench(flags: BenchFlags): Promise<number> {
  const url = new URL("../../../bench/run.ts", import.meta.url).href;
  const bench = (await import(url)) as {
    runBenchmarks(options: { filter?: string; json?: boolean }): Promise<number>;
  };
  return bench.runBenchmarks(flags);
}
