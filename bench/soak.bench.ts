/**
 * The fixed-design soak: every built-in mlx5 ODP design, no defect, the same fixed budget
 * of programs from seed 1 (`odpsim fuzz --design D --programs N --seed 1 --keep-going`),
 * and every distinct violation it finds, by key (src/scenario/fuzz/soak.ts).
 *
 * The budget is programs, not seconds, so what is found is a function of the seed: the
 * seconds are reported beside it. FUZZ_SOAK_PROGRAMS (default 20,000) sets it. Each key
 * is printed on stderr with its count, its first program, and what it is: a documented
 * finding its first program's violation matches (findings.ts, as `odpsim fuzz` says
 * "known: likely …"), a key fuzz/findings/ already holds a file for, or NEW (a finding
 * to shrink and triage). Keys hold the thread that failed, so one finding reached from
 * another thread is a key of its own; the finding match is what says it is not new.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { BenchResult } from "./result.ts";
import { MLX5_ODP_DESIGN_NAMES } from "../src/rdma/mlx5/odp/designs.ts";
import { findingOf } from "../src/check/catalog/findings.ts";
import { runSoak, type SoakKey } from "../src/scenario/fuzz/soak.ts";

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

/** What a key is: the documented finding it matches, a key on file, or NEW. */
function triage(design: string, k: SoakKey, known: ReadonlySet<string>): string {
  const kind = k.key.split(" at ")[0] ?? "";
  const finding =
    k.first.type === "violation"
      ? findingOf(design, { kind, message: k.first.message })
      : undefined;
  if (finding !== undefined) return `finding ${finding.id}`;
  return known.has(`${design}: ${k.key}`) ? "on file" : "NEW";
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
    const tags = r.keys.map((k) => triage(design, k, known));
    r.keys.forEach((k, i) => {
      process.stderr.write(
        `  ${String(k.count).padStart(5)}x  first program ${k.first.program}: ${k.key}  [${tags[i] ?? ""}]\n`,
      );
    });
    const fresh = tags.filter((t) => t === "NEW").length;
    return [
      { id: `soak.${design}.failing_programs`, value: r.failures, unit: `of ${r.programsRun}` },
      { id: `soak.${design}.keys`, value: r.keys.length, unit: "distinct keys" },
      { id: `soak.${design}.new_keys`, value: fresh, unit: "keys neither a finding nor on file" },
      { id: `soak.${design}.seconds`, value: seconds, unit: "s" },
    ];
  });
}
