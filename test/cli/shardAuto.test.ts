import assert from "node:assert/strict";
import { test } from "node:test";
import { ShardAutoError, shardFromEnvironment } from "../../src/cli/shardAuto.ts";
import { odpsim, odpsimWithEnv } from "./odpsim.ts";

const shard = (index: number, count: number) => ({ index, count });

test("Slurm: task ids MIN..MAX become shards 1..n, whatever the first id", () => {
  for (const min of [0, 1, 7]) {
    for (let id = min; id <= min + 3; id++) {
      const env = {
        SLURM_ARRAY_TASK_ID: String(id),
        SLURM_ARRAY_TASK_MIN: String(min),
        SLURM_ARRAY_TASK_MAX: String(min + 3),
        SLURM_ARRAY_TASK_COUNT: "4",
      };
      assert.deepEqual(shardFromEnvironment(env), shard(id - min + 1, 4));
    }
  }
});

test("Slurm: the count alone (no _MAX) is enough, and a stepped range counts its tasks", () => {
  const countOnly = { SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_MIN: "0" };
  assert.deepEqual(
    shardFromEnvironment({ ...countOnly, SLURM_ARRAY_TASK_COUNT: "5" }),
    shard(3, 5),
  );
  const stepped = {
    SLURM_ARRAY_TASK_ID: "5",
    SLURM_ARRAY_TASK_MIN: "1",
    SLURM_ARRAY_TASK_MAX: "7",
    SLURM_ARRAY_TASK_STEP: "2",
  };
  assert.deepEqual(shardFromEnvironment(stepped), shard(3, 4));
});

test("Kubernetes: JOB_COMPLETION_INDEX (0-based) with the count from the flag or the env", () => {
  assert.deepEqual(shardFromEnvironment({ JOB_COMPLETION_INDEX: "0" }, 3), shard(1, 3));
  assert.deepEqual(
    shardFromEnvironment({ JOB_COMPLETION_INDEX: "2", ODPSIM_SHARD_COUNT: "3" }),
    shard(3, 3),
  );
  assert.deepEqual(
    shardFromEnvironment({ JOB_COMPLETION_INDEX: "1", ODPSIM_SHARD_COUNT: "9" }, 2),
    shard(2, 2),
    "the flag wins over the env",
  );
});

test("ODPSIM_SHARD=k/n wins over any job array", () => {
  const env = {
    ODPSIM_SHARD: "2/7",
    SLURM_ARRAY_TASK_ID: "0",
    SLURM_ARRAY_TASK_MIN: "0",
    SLURM_ARRAY_TASK_COUNT: "4",
    JOB_COMPLETION_INDEX: "0",
  };
  assert.deepEqual(shardFromEnvironment(env), shard(2, 7));
});

for (const [what, env, count, why] of [
  [
    "nothing set",
    {},
    undefined,
    /no job array found.*SLURM_ARRAY_TASK_ID.*JOB_COMPLETION_INDEX.*ODPSIM_SHARD=k\/n/,
  ],
  [
    "an Indexed Job without a count",
    { JOB_COMPLETION_INDEX: "0" },
    undefined,
    /--shard-count or set ODPSIM_SHARD_COUNT/,
  ],
  [
    "an index past the count",
    { JOB_COMPLETION_INDEX: "3" },
    3,
    /JOB_COMPLETION_INDEX 3 is not below the count 3/,
  ],
  [
    "a bad ODPSIM_SHARD",
    { ODPSIM_SHARD: "5/4" },
    undefined,
    /ODPSIM_SHARD must be k\/n.*at most n/,
  ],
  [
    "a non-number task id",
    { SLURM_ARRAY_TASK_ID: "x" },
    undefined,
    /SLURM_ARRAY_TASK_ID must be a whole number, got "x"/,
  ],
  [
    "Slurm without _MIN",
    { SLURM_ARRAY_TASK_ID: "1", SLURM_ARRAY_TASK_MAX: "3" },
    undefined,
    /SLURM_ARRAY_TASK_MIN is not set/,
  ],
  [
    "Slurm without _MAX or _COUNT",
    { SLURM_ARRAY_TASK_ID: "1", SLURM_ARRAY_TASK_MIN: "0" },
    undefined,
    /neither SLURM_ARRAY_TASK_MAX nor SLURM_ARRAY_TASK_COUNT/,
  ],
  [
    "a Slurm list with holes (--array=1,4,9)",
    {
      SLURM_ARRAY_TASK_ID: "4",
      SLURM_ARRAY_TASK_MIN: "1",
      SLURM_ARRAY_TASK_MAX: "9",
      SLURM_ARRAY_TASK_COUNT: "3",
    },
    undefined,
    /3 tasks between 1 and 9: use one range/,
  ],
  [
    "a task id off the step",
    {
      SLURM_ARRAY_TASK_ID: "2",
      SLURM_ARRAY_TASK_MIN: "1",
      SLURM_ARRAY_TASK_MAX: "7",
      SLURM_ARRAY_TASK_STEP: "2",
    },
    undefined,
    /SLURM_ARRAY_TASK_ID 2 is not a task of the array/,
  ],
] as const) {
  test(`--shard auto refuses ${what} with one clear line`, () => {
    assert.throws(
      () => shardFromEnvironment(env, count),
      (e: unknown) =>
        e instanceof ShardAutoError &&
        e.message.startsWith("--shard auto: ") &&
        !e.message.includes("\n") &&
        why.test(e.message),
    );
  });
}

/** The environment with every job-array variable removed, plus `extra`. */
function envWith(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k.startsWith("SLURM_") || k.startsWith("ODPSIM_SHARD") || k === "JOB_COMPLETION_INDEX")
      Reflect.deleteProperty(env, k);
  }
  return { ...env, ...extra };
}

test("explore --shard auto under a Slurm array task says which shard it ran", () => {
  const env = envWith({
    SLURM_ARRAY_TASK_ID: "3",
    SLURM_ARRAY_TASK_MIN: "1",
    SLURM_ARRAY_TASK_MAX: "4",
  });
  const r = odpsimWithEnv(
    env,
    "explore",
    "fault-vs-invalidate",
    "--schedules",
    "20",
    "--shard",
    "auto",
    "--json",
  );
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { shard: string }).shard, "3/4");
});

test("explore --shard auto with no job array exits 2 with one line", () => {
  const r = odpsimWithEnv(envWith({}), "explore", "fault-vs-invalidate", "--shard", "auto");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^odpsim: --shard auto: no job array found/);
  assert.equal(r.stderr.trim().split("\n").length, 1);
});

test("explore --shard-count without --shard auto exits 2", () => {
  const r = odpsim("explore", "fault-vs-invalidate", "--shard", "1/2", "--shard-count", "2");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--shard-count goes with --shard auto/);
});
