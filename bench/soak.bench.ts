/**
 * The fixed-design soak: every built-in mlx5 ODP design, no defect, the same fixed budget
 * of programs from seed 1 (`odpsim fuzz --design D --programs N --seed 1 --keep-going`),
 * and every distinct violation it finds, by key (src/scenario/fuzz/soak.ts).
 *
 * The budget is programs, not seconds, so what is found is a function of the seed: the
 * seconds are reported beside it. FUZZ_SOAK_PROGRAMS (default 20,000) sets it. Each key
 * is printed on stderr with its count, its first program, and whether fuzz/findings/
 * already holds a file with that key (a new key is a finding to shrink and triage).
 */
import { readdirSync, readFileSync } from "node:fs";
import type { BenchResult } from "./result.ts";
import { MLX5_ODP_DESIGN_NAMES } from "../src/rdma/mlx5/odp/designs.ts";
import { runSoak } from "../src/scenario/fuzz/soak.ts";

const PROGRAMS = Number(process.env.FUZZ_SOAK_PROGRAMS ?? 20_000);
const SEED = 1;
const FINDINGS = new URL("../fuzz/findings/", import.meta.url);

/** The keys of the findings already on file: `DESIGN: KEY`. */
function knownKeys(): Set<string> {
  const known = new Set<string>();
  for (const name of readdirSync(FINDINGS).filter((n) => n.endsWith(".yaml"))) {
    const design = /^finding-(classic|hmm-mirror|interval)-/.exec(name)?.[1];
    const key = /^# finding: (.*)$/m.exec(readFileSync(new URL(name, FINDINGS), "utf8"))?.[1];
    if (design !== undefined && key !== undefined) known.add(`${design}: ${key}`);
  }
  return known;
}

// eslint-disable-next-line @typescript-eslint/require-await -- the suite interface is async
export async function soakBenchmarks(): Promise<BenchResult[]> {
  const known = knownKeys();
  return MLX5_ODP_DESIGN_NAMES.flatMap((design) => {
    const start = performance.now();
    const r = runSoak({ design, defects: [], seed: SEED, programs: PROGRAMS });
    const seconds = (performance.now() - start) / 1000;
    process.stderr.write(
      `soak ${design}: ${r.programsRun} programs, ${r.schedulesRun} schedules, ${seconds.toFixed(0)} s; ` +
        `${r.failures} failing programs, ${r.keys.length} keys\n`,
    );
    for (const k of r.keys) {
      const tag = known.has(`${design}: ${k.key}`) ? "on file" : "NEW";
      process.stderr.write(
        `  ${tag.padEnd(7)} ${String(k.count).padStart(5)}x  first program ${k.first.program}: ${k.key}\n`,
      );
    }
    const fresh = r.keys.filter((k) => !known.has(`${design}: ${k.key}`)).length;
    return [
      { id: `soak.${design}.failing_programs`, value: r.failures, unit: `of ${r.programsRun}` },
      { id: `soak.${design}.keys`, value: r.keys.length, unit: "distinct keys" },
      { id: `soak.${design}.new_keys`, value: fresh, unit: "keys not in fuzz/findings/" },
      { id: `soak.${design}.seconds`, value: seconds, unit: "s" },
    ];
  });
}
