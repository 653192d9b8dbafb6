/**
 * The odpsim command line: builds the program from one module per command
 * (src/cli/commands/) and runs it. Exit codes are in exitCodes.ts; errors are one clear
 * line on stderr, never a stack trace.
 *
 * Models no kernel file.
 */
import { Command, CommanderError } from "commander";
import { ScenarioError } from "../scenario/errors.ts";
import { addBenchCommand } from "./commands/bench.ts";
import { addCatalogCommand } from "./commands/catalog.ts";
import { addDemoCommand } from "./commands/demo.ts";
import { addExploreCommand } from "./commands/explore.ts";
import { addMergeCommand } from "./commands/merge.ts";
import { addFuzzCommand } from "./commands/fuzz.ts";
import { addReplayCommand } from "./commands/replay.ts";
import { addRunCommand } from "./commands/run.ts";
import { addViewCommand } from "./commands/view.ts";
import { EXIT_CODES_HELP, EXIT_OK, EXIT_USAGE, type SetExitCode } from "./exitCodes.ts";
import { UsageError } from "./usageError.ts";
import { ODPSIM_VERSION } from "./version.ts";

function buildProgram(setCode: SetExitCode): Command {
  const program = new Command("odpsim")
    .description("Deterministic simulator and race explorer for Linux RDMA on-demand paging")
    .version(ODPSIM_VERSION, "-V, --version", "print odpsim's version")
    .exitOverride()
    .enablePositionalOptions();
  addDemoCommand(program, setCode);
  addCatalogCommand(program, setCode);
  addExploreCommand(program, setCode);
  addMergeCommand(program, setCode);
  addRunCommand(program, setCode);
  addFuzzCommand(program, setCode);
  addReplayCommand(program, setCode);
  addBenchCommand(program, setCode);
  addViewCommand(program, setCode);
  withExitCodes(program);
  withOneLineErrors(program);
  return program;
}

/** `odpsim catalog check`: the words a user types for `command`. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/**
 * A bad flag or value is one line (commander's message, its suggestion folded in) and
 * where to read more, not the whole help.
 */
function withOneLineErrors(command: Command): void {
  const path = commandPath(command);
  command.showHelpAfterError(false).configureOutput({
    outputError: (message, write) => {
      const text = message
        .trim()
        .replace(/^error: /, "")
        .replace(/\s*\n\s*/g, " ");
      write(`${path}: ${text}; see \`${path} --help\`\n`);
    },
  });
  for (const sub of command.commands) withOneLineErrors(sub);
}

/** Every command's --help ends with the exit code table. */
function withExitCodes(command: Command): void {
  command.addHelpText("after", EXIT_CODES_HELP);
  for (const sub of command.commands) withExitCodes(sub);
}

/** A reader that went away (`odpsim catalog | head`) ends the output, not the process. */
function ignoreClosedStdout(): void {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? EXIT_OK);
    throw error;
  });
}

/** One line on stderr for an input error (its exit code), or rethrown if it is not one. */
function inputErrorCode(error: unknown): number {
  if (error instanceof CommanderError) {
    return error.code === "commander.helpDisplayed" || error.code === "commander.version"
      ? EXIT_OK
      : EXIT_USAGE;
  }
  if (error instanceof ScenarioError) {
    process.stderr.write(`${error.format()}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`odpsim: ${error.message}\n`);
    return EXIT_USAGE;
  }
  throw error;
}

export async function runCli(argv: readonly string[]): Promise<number> {
  ignoreClosedStdout();
  let code = EXIT_OK;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    return inputErrorCode(error);
  }
  return code;
}

process.exitCode = await runCli(process.argv.slice(2));
