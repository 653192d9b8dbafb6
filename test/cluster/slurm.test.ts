/**
 * Against a real Slurm: a one-node cluster started here (slurmCluster.ts) runs
 * examples/cluster/odpsim-array.sbatch as an array of 4 shards; the merge job that the
 * array submits gives the answer one process gives for the same budget. If Slurm cannot
 * start, the test fails with its logs; it never skips.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { BIN, odpsim, comparableAnswer } from "../cli/odpsim.ts";
import { queueEmpty, slurmCommand, startSlurm, until, type SlurmCluster } from "./slurmCluster.ts";

const SCRIPT = fileURLToPath(
  new URL("../../examples/cluster/odpsim-array.sbatch", import.meta.url),
);
const SEARCH = ["fault-vs-invalidate", "--defect", "classic-no-retry-check", "--schedules", "200"];
const SHARDS = 4;

const dir = mkdtempSync(join(tmpdir(), "odpsim-slurm-"));
let cluster: SlurmCluster | null = null;

before(async () => {
  cluster = await startSlurm(join(dir));
});

after(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Json = Record<string, unknown>;

const nonEmpty = (f: string) => existsSync(f) && statSync(f).size > 0;

test(
  `sbatch --array of ${SHARDS} shards, merged, answers as one process does`,
  { timeout: 180_000 },
  async () => {
    const c = cluster as SlurmCluster;
    const results = join(dir, "results");
    const env = { ...c.env, ODPSIM: BIN, ODPSIM_RESULTS: results };
    const submit = [
      "sbatch",
      "--wait",
      `--array=1-${SHARDS}`,
      `--output=${join(dir, "task-%a.log")}`,
    ];
    try {
      slurmCommand({ env }, [...submit, SCRIPT, ...SEARCH], 150_000);
      // The merge job the array submitted runs after it: wait for the queue to drain.
      await until(() => queueEmpty(c), 60_000, "the merge job did not finish");
      await until(() => nonEmpty(join(results, "merged.json")), 5_000, "no merged.json");
    } catch (error) {
      const logs = ["task-1.log", join("results", "merge.log")]
        .map((f) => join(dir, f))
        .filter(existsSync);
      const text = logs.map((f) => `--- ${f}\n${readFileSync(f, "utf8")}`).join("\n");
      throw new Error(`${(error as Error).message}\n${text}\n${c.logs()}`, { cause: error });
    }
    const merged = JSON.parse(readFileSync(join(results, "merged.json"), "utf8")) as Json & {
      merge: { present: string[]; missing: string[] };
    };
    assert.deepEqual(merged.merge.present, ["1/4", "2/4", "3/4", "4/4"]);
    assert.deepEqual(merged.merge.missing, []);
    const single = odpsim("explore", ...SEARCH, "--json");
    assert.equal(single.code, 1, single.stderr);
    assert.deepEqual(comparableAnswer(merged), comparableAnswer(JSON.parse(single.stdout) as Json));
    assert.match(readFileSync(join(results, "merged.txt"), "utf8"), /merged 4 of 4 shards/);
  },
);
