/**
 * A job array on this machine: 1, 2 and 4 shard processes of one search
 * (`odpsim explore fault-vs-invalidate --design classic --shard k/n --json`, no defect,
 * so every shard runs its whole part), started together as an array's tasks would be,
 * timed from the first start to the last exit: total schedules per second, node start
 * and module loading included (every array task pays them). Then `odpsim merge` of the
 * 4 answers, as a command (node start included) and its combine step alone in this
 * process. The merged answer is checked against the budget.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ExploreAnswer } from "../src/cli/merge/answerSchema.ts";
import { mergeAnswers } from "../src/cli/merge/mergeAnswers.ts";
import type { BenchResult } from "./result.ts";

const BIN = fileURLToPath(new URL("../bin/odpsim.js", import.meta.url));
const SCHEDULES = 8_000;
const SEARCH = [
  "explore",
  "fault-vs-invalidate",
  "--design",
  "classic",
  "--schedules",
  String(SCHEDULES),
];
const SPLITS = [1, 2, 4];

/** Runs odpsim with `args`; its stdout once it exits 0 (clean). */
function odpsim(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--single-threaded-gc", BIN, ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`odpsim ${args.join(" ")} exited ${String(code)}`));
    });
  });
}

/** n shard processes side by side: their answers and the wall-clock seconds. */
async function array(n: number): Promise<{ answers: string[]; seconds: number }> {
  const t0 = performance.now();
  const shards = Array.from({ length: n }, (_, k) =>
    odpsim([...SEARCH, "--shard", `${k + 1}/${n}`, "--json"]),
  );
  const answers = await Promise.all(shards);
  return { answers, seconds: (performance.now() - t0) / 1000 };
}

export async function clusterBenchmarks(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  let base = 0;
  let four: string[] = [];
  for (const n of SPLITS) {
    const { answers, seconds } = await array(n);
    const perSec = SCHEDULES / seconds;
    if (n === 1) base = perSec;
    if (n === 4) four = answers;
    results.push({
      id: `cluster.schedules_per_sec.shards${n}`,
      value: perSec,
      unit: `schedules/s (${n} shard processes, ${SCHEDULES} schedules, node start included)`,
      ...(n === 1 ? {} : { baseline: base, ratio: perSec / base }),
    });
  }
  const dir = mkdtempSync(join(tmpdir(), "odpsim-bench-merge-"));
  try {
    four.forEach((a, k) => {
      writeFileSync(join(dir, `shard-${k + 1}.json`), a);
    });
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ["--single-threaded-gc", BIN, "merge", dir, "--json"], {
      encoding: "utf8",
    });
    const commandMs = performance.now() - t0;
    const merged = JSON.parse(r.stdout) as { schedulesRun: number; verdict: string };
    if (r.status !== 0 || merged.schedulesRun !== SCHEDULES || merged.verdict !== "clean") {
      throw new Error(`merge gave ${r.stdout.slice(0, 200)} (exit ${String(r.status)})`);
    }
    const parts = four.map((a, k) => ({
      file: `shard-${k + 1}`,
      answer: JSON.parse(a) as ExploreAnswer,
    }));
    const t1 = performance.now();
    mergeAnswers(parts);
    const combineMs = performance.now() - t1;
    results.push(
      {
        id: "cluster.merge_ms.shards4",
        value: commandMs,
        unit: "ms (odpsim merge, node start included)",
      },
      {
        id: "cluster.merge_combine_ms.shards4",
        value: combineMs,
        unit: "ms (the combine step alone)",
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
