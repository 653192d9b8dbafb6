/**
 * `npm run fuzz [-- --runs N] [--seed X] [--schedules K] [--out DIR]`: the scenario-language
 * fuzz (src/scenario/fuzz/languageFuzz.ts). Generated programs of every design, no
 * defects; the target is no internal error. Each distinct failure is shrunk and written
 * to DIR (default fuzz/out) as a scenario file: `internal-error-N.yaml` for an exception
 * of odpsim, `finding-DESIGN-KIND-N.yaml` for a violation of the model in a defect-free
 * design. Exit status: 3 on any internal error, else 1 on any finding, else 0.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { EXIT_INTERNAL_ERROR, EXIT_OK, EXIT_USAGE, EXIT_VIOLATION } from "../src/cli/exitCodes.ts";
import { languageFuzz, type LanguageFuzzFailure } from "../src/scenario/fuzz/languageFuzz.ts";
import { scenarioText } from "../src/scenario/fuzz/scenarioText.ts";

function count(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`--${name} must be an integer >= 0, got "${text}"`);
  return n;
}

function fileName(f: LanguageFuzzFailure, n: number): string {
  if (f.type === "internal_error") return `internal-error-${n}.yaml`;
  const kind = f.key.split(" ")[0] ?? "violation";
  return `finding-${f.design}-${kind}-${n}.yaml`;
}

function header(f: LanguageFuzzFailure, seed: number): string[] {
  const run = f.runSeed === null ? [] : [`odpsim run FILE --timing free --seed ${f.runSeed}`];
  return [
    `${f.type === "internal_error" ? "odpsim internal error" : "finding"}: ${f.key}`,
    `design ${f.design}, no defects; npm run fuzz -- --seed ${seed}, program ${f.program}, seen ${f.count}x`,
    ...f.message
      .split("\n")
      .slice(0, 6)
      .map((l) => `  ${l}`),
    "",
    "Reproduce (shrunk program):",
    ...run,
    "odpsim explore FILE --strategy random",
  ];
}

function main(): number {
  let o;
  try {
    const { values } = parseArgs({
      options: {
        runs: { type: "string" },
        seed: { type: "string" },
        schedules: { type: "string" },
        out: { type: "string" },
      },
    });
    o = {
      runs: count("runs", values.runs, 1000),
      seed: count("seed", values.seed, 0),
      schedules: Math.max(1, count("schedules", values.schedules, 2)),
      out: values.out ?? "fuzz/out",
    };
  } catch (error) {
    process.stderr.write(`fuzz: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }
  const start = Date.now();
  const r = languageFuzz({
    ...o,
    onProgram: (done) => {
      if (process.stderr.isTTY && done % 100 === 0)
        process.stderr.write(`\r${done}/${o.runs} programs`);
    },
  });
  if (process.stderr.isTTY) process.stderr.write("\n");
  const seconds = (Date.now() - start) / 1000;
  console.log(
    `${r.programs} programs, ${r.schedulesRun} schedules in ${seconds.toFixed(1)} s: ` +
      `${r.internalErrors} internal errors, ${r.violations} with a violation of the model, ` +
      `${r.programOnly} with only the program's own failures, ${r.inconclusiveRuns} runs cut off`,
  );
  if (r.failures.length > 0) mkdirSync(o.out, { recursive: true });
  r.failures.forEach((f, n) => {
    const file = join(o.out, fileName(f, n));
    writeFileSync(file, scenarioText(f.spec, header(f, o.seed)));
    console.log(
      `  ${f.type === "internal_error" ? "INTERNAL ERROR" : "finding"} ${f.key} (${f.design}, ${f.count}x): ${file}`,
    );
  });
  if (r.internalErrors > 0) return EXIT_INTERNAL_ERROR;
  return r.violations > 0 ? EXIT_VIOLATION : EXIT_OK;
}

process.exitCode = main();
