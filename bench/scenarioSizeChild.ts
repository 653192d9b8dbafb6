/**
 * One measurement of the scenario-size benchmark (scenarioSize.bench.ts), in a process of
 * its own so that its peak resident memory is its own: parse and validate the file, then
 * compile and run it once; print the seconds of each and the peak RSS as JSON. With a
 * second argument, `document` or `stream`, only the YAML is read — by the yaml package's
 * parseDocument and toJS, or by composeYaml — for the side-by-side figures.
 */
import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { compileScenario } from "../src/scenario/compile.ts";
import { composeYaml } from "../src/scenario/composeYaml.ts";
import { parseScenarioText } from "../src/scenario/parse.ts";
import { runOnce } from "../src/scenario/runOnce.ts";

const [file, yamlOnly] = process.argv.slice(2);
if (file === undefined) throw new Error("usage: scenarioSizeChild.ts FILE [document|stream]");
if (yamlOnly !== undefined) readYamlOnly(file, yamlOnly);
else parseAndRun(file);

function readYamlOnly(file: string, how: string): void {
  const text = readFileSync(file, "utf8");
  const start = performance.now();
  if (how === "document") parseDocument(text, { uniqueKeys: true }).toJS();
  else composeYaml(text);
  const seconds = (performance.now() - start) / 1000;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ seconds, peakRssMb }));
}

function parseAndRun(file: string): void {
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
}
