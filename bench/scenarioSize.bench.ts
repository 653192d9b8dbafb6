/**
 * Scenario files of 10^3, 10^4 and 10^5 operations (one thread of CPU stores): the
 * seconds to parse and validate each, to compile and run it once, and the peak resident
 * memory of a process that does both (scenarioSizeChild.ts, one process per size).
 *
 * The files are generated here, 76 bytes an operation (7.6 MB for 10^5), in the flow style
 * the examples use. Parsing streams them (src/scenario/composeYaml.ts): the peak should
 * stay near node's own and not grow with the yaml package's Document, a node with its
 * source range for every scalar, pair and map (about 870 MB for the 10^5 file). For
 * the largest file, scenario.yaml_{seconds,peak_rss_mb} read only its YAML, with
 * parseDocument + toJS as the baseline measured beside it.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchResult } from "./result.ts";

const SIZES = [1_000, 10_000, 100_000] as const;
const CHILD = fileURLToPath(new URL("./scenarioSizeChild.ts", import.meta.url));

interface ChildResult {
  readonly parseSeconds: number;
  readonly runSeconds: number;
  readonly peakRssMb: number;
  readonly status: string;
}

/** A scenario of `ops` CPU stores over four pages, one thread. */
function scenarioText(ops: number): string {
  const lines = [
    `name: ops-${ops}`,
    "design: interval",
    // About ten steps a store, with room: the default bound is for small scenarios.
    `maxSteps: ${String(ops * 20 + 10_000)}`,
    "processes:",
    "  - name: app",
    "    setup:",
    "      buffers:",
    "        - { name: buf, pages: 4 }",
    "    threads:",
    "      - name: main",
    "        ops:",
  ];
  for (let i = 0; i < ops; i++) {
    const offset = (i % 4) * 4096;
    lines.push(
      `          - cpu_write: { buffer: buf, offset: ${offset}, bytes: 8, pattern: ${i % 256} }`,
    );
  }
  return `${lines.join("\n")}\n`;
}

interface YamlResult {
  readonly seconds: number;
  readonly peakRssMb: number;
}

function child(args: readonly string[]): unknown {
  const r = spawnSync(
    process.execPath,
    ["--single-threaded-gc", "--import", "tsx", CHILD, ...args],
    {
      encoding: "utf8",
      maxBuffer: 1 << 20,
    },
  );
  if (r.status !== 0) throw new Error(`scenario size child failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function measure(file: string): ChildResult {
  return child([file]) as ChildResult;
}

/** The YAML alone, composeYaml against parseDocument + toJS as the baseline, side by side. */
function yamlSideBySide(file: string, at: string): BenchResult[] {
  const document = child([file, "document"]) as YamlResult;
  const stream = child([file, "stream"]) as YamlResult;
  const figure = (id: string, unit: string, value: number, baseline: number): BenchResult => ({
    id: `scenario.${id}.ops_${at}`,
    value,
    unit,
    baseline,
    ratio: value / baseline,
  });
  return [
    figure("yaml_seconds", "s", stream.seconds, document.seconds),
    figure("yaml_peak_rss_mb", "MB", stream.peakRssMb, document.peakRssMb),
  ];
}

/** `1e3` for 1,000. */
function label(ops: number): string {
  return `1e${String(Math.round(Math.log10(ops)))}`;
}

// eslint-disable-next-line @typescript-eslint/require-await -- the suite interface is async
export async function scenarioSizeBenchmarks(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "odpsim-scenario-size-"));
  try {
    return SIZES.flatMap((ops) => {
      const file = join(dir, `ops-${String(ops)}.yaml`);
      writeFileSync(file, scenarioText(ops));
      const m = measure(file);
      if (m.status !== "ok") throw new Error(`the ${String(ops)}-op scenario ran ${m.status}`);
      const at = label(ops);
      return [
        { id: `scenario.parse_seconds.ops_${at}`, value: m.parseSeconds, unit: "s" },
        { id: `scenario.run_seconds.ops_${at}`, value: m.runSeconds, unit: "s" },
        { id: `scenario.peak_rss_mb.ops_${at}`, value: m.peakRssMb, unit: "MB" },
        ...(ops === SIZES.at(-1) ? yamlSideBySide(file, at) : []),
      ];
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
