/**
 * `odpsim view <file>`: serve the web viewer for a run file on 127.0.0.1 (the server
 * itself is src/cli/view.ts).
 *
 * Models no kernel file.
 */
import type { Command } from "commander";
import type { SetExitCode } from "../exitCodes.ts";
import { intOption } from "../options.ts";
import { viewCommand } from "../view.ts";

export function addViewCommand(program: Command, setCode: SetExitCode): void {
  program
    .command("view <file>")
    .description("serve the web viewer for a run file on 127.0.0.1")
    .option("--port <n>", "port (0 = any free port)", intOption("--port", 0, 65535), 0)
    .addHelpText(
      "after",
      "\nExamples (explore --out DIR writes DIR/run.json; Ctrl-C stops the server):\n" +
        "  odpsim view odpsim-out/run.json\n" +
        "  odpsim view odpsim-out/run.json --port 8080",
    )
    .action(async (file: string, o: { port: number }) => {
      setCode(await viewCommand(file, { port: o.port }));
    });
}
