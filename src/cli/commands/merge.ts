/**
 * `odpsim merge FILE...|DIR`: the `explore --json` answers of the shards of one search
 * (`--shard k/n` or `--shard auto` in a job array) into the whole search's answer. Read,
 * combine and render are apart, in src/cli/merge/.
 *
 * Models no kernel file. The exit code is the merged verdict's, as explore's would be;
 * files of different searches are refused with one line and exit 2.
 */
import type { Command } from "commander";
import { exitCodeOf, type SetExitCode } from "../exitCodes.ts";
import { mergeAnswers } from "../merge/mergeAnswers.ts";
import { readAnswers } from "../merge/readAnswers.ts";
import { renderMerged } from "../merge/render.ts";

interface MergeFlags {
  readonly json: boolean;
}

export function addMergeCommand(program: Command, setCode: SetExitCode): void {
  program
    .command("merge <answers...>")
    .description("combine the explore --json answers of a search's shards (files or a directory)")
    .option("--json", "print JSON (explore --json's shape, plus merge)", false)
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  odpsim merge shards/\n" +
        "  odpsim merge shard-1.json shard-2.json shard-3.json --json",
    )
    .action((paths: string[], flags: MergeFlags) => {
      const { answers, empty } = readAnswers(paths);
      for (const file of empty)
        process.stderr.write(`merge: ${file} is empty (a shard that wrote nothing); skipped\n`);
      const merged = mergeAnswers(answers);
      renderMerged(merged, flags.json);
      setCode(exitCodeOf(merged.verdict));
    });
}
