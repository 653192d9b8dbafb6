/**
 * `npm run bench [-- --json] [-- --filter PREFIX]`: runs the benchmark suites (run.ts).
 */
import { parseArgs } from "node:util";
import { runBenchmarks } from "./run.ts";

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: { json: { type: "boolean", default: false }, filter: { type: "string" } },
    }));
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    return 2;
  }
  return runBenchmarks({
    json: values.json,
    ...(values.filter === undefined ? {} : { filter: values.filter }),
  });
}

process.exitCode = await main();
