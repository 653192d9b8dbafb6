/**
 * One measurement of the scenario-size benchmark (scenarioSize.bench.ts), in a process of
 * its own so that its peak resident memory is its own: parse and validate the file, then
 * compile and run it once; print the seconds of each and the peak RSS as JSON.
 */
import { readFileSync } from "node:fs";
import { compileScenario } from "../src/scenario/compile.ts";
import { parseScenarioText } from "../src/scenario/parse.ts";
import { runOnce } from "../src/scenario/runOnce.ts";

const file = process.argv[2];
if (file === undefined) throw new Error("usage: scenarioSizeChild.ts FILE");
const start = performance.now();
const parsed = parseScenarioText(readFileSync(file, "utf8"), file);
const parsedAt = performance.now();
const { report } = runOnce(compileScenario(parsed), { seed: 0 });
const ranAt = performance.now();
process.stdout.write(
  JSON.stringify({
    parseSeconds: (parsedAt - start) / 1000,
    runSeconds: (ranAt - parsedAt) / 1000,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    status: report.status,
  }),
);
