/**
 * The odpsim command line. Exit codes: 0 clean, 1 a violation was found, 2 bad usage
 * or input. Errors are one clear line on stderr, never a stack trace.
 */
import { Command, CommanderError } from "commander";
import { kernelDemo } from "./kernelDemo.ts";

export const EXIT_OK = 0;
export const EXIT_VIOLATION = 1;
export const EXIT_USAGE = 2;

function buildProgram(out: (line: string) => void, setCode: (code: number) => void): Command {
  const program = new Command("odpsim")
    .description("Deterministic simulator and race explorer for Linux RDMA on-demand paging")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program
    .command("demo")
    .description("show the simulator at work (what `npm start` runs)")
    .option("--seeds <n>", "seeds per scenario", "8")
    .action((opts: { seeds: string }) => {
      const seeds = Number(opts.seeds);
      if (!Number.isInteger(seeds) || seeds < 1 || seeds > 10_000) {
        throw new CommanderError(
          EXIT_USAGE,
          "odpsim.badSeeds",
          `--seeds must be an integer in [1, 10000], got "${opts.seeds}"`,
        );
      }
      setCode(kernelDemo(out, seeds));
    });
  return program;
}

export function runCli(argv: readonly string[]): number {
  let code = EXIT_OK;
  const program = buildProgram(
    (line) => process.stdout.write(`${line}\n`),
    (c) => (code = c),
  );
  try {
    program.parse(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version")
        return EXIT_OK;
      if (error.code === "odpsim.badSeeds") process.stderr.write(`odpsim: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
  return code;
}

process.exitCode = runCli(process.argv.slice(2));
