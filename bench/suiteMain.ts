/**
 * One benchmark suite in a process of its own (run.ts starts it): prints
 * `{"results": [...]}` on stdout.
 */
import { SUITES } from "./run.ts";

const name = process.argv[2];
const suite = SUITES.find((s) => s.name === name);
if (suite === undefined) {
  process.stderr.write(`bench: no suite named ${String(name)}\n`);
  process.exitCode = 2;
} else {
  process.stdout.write(`${JSON.stringify({ results: await suite.run() })}\n`);
}
