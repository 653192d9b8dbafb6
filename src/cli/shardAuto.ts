/**
 * `--shard auto`: the shard this process is, read from the job array it runs in.
 *
 * Models no kernel file. Sources, in order:
 * - `ODPSIM_SHARD=k/n`, set by hand or by any scheduler's wrapper, wins over the rest;
 * - Slurm (`sbatch --array`): `SLURM_ARRAY_TASK_ID` is this task, and the array's
 *   extent is `SLURM_ARRAY_TASK_MIN`..`_MAX` (or `_MIN` and `_COUNT`), stepping by
 *   `SLURM_ARRAY_TASK_STEP`; the array must be one evenly stepped range (`0-15`,
 *   `1-31:2`, a `%limit` is fine), since a list such as `1,4,9` has holes that no
 *   shard would own;
 * - a Kubernetes Indexed Job: `JOB_COMPLETION_INDEX` (0-based) is this pod; Kubernetes
 *   does not say how many completions there are, so the count comes from
 *   `--shard-count` or `ODPSIM_SHARD_COUNT`.
 * Slurm's task ids and Kubernetes' indices may start anywhere; shard k is always the
 * k-th task of the array, 1-based, as `--shard k/n` counts.
 */
import { parseShard, ShardSpecError, type Shard } from "../check/shard.ts";

/** The environment as `process.env` gives it. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** No job array found, or one that does not make a shard: says which and why. */
export class ShardAutoError extends Error {
  constructor(message: string) {
    super(`--shard auto: ${message}`);
    this.name = "ShardAutoError";
  }
}

/** A whole number >= 0 in the environment variable `name`, or undefined when unset. */
function wholeVar(env: Environment, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  if (!/^\s*[0-9]+\s*$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new ShardAutoError(`${name} must be a whole number, got "${raw}"`);
  }
  return Number(raw);
}

function required(env: Environment, name: string, why: string): number {
  const n = wholeVar(env, name);
  if (n === undefined) throw new ShardAutoError(`${name} is not set (${why})`);
  return n;
}

function fromOdpsimShard(spec: string): Shard {
  try {
    return parseShard(spec);
  } catch (error) {
    if (error instanceof ShardSpecError) {
      throw new ShardAutoError(`ODPSIM_SHARD must be k/n: ${error.message}`);
    }
    throw error;
  }
}

/** This Slurm array task's shard. */
function fromSlurm(env: Environment, id: number): Shard {
  const min = required(env, "SLURM_ARRAY_TASK_MIN", "sbatch --array sets it");
  const step = wholeVar(env, "SLURM_ARRAY_TASK_STEP") ?? 1;
  if (step < 1) throw new ShardAutoError(`SLURM_ARRAY_TASK_STEP must be >= 1, got ${step}`);
  const max = wholeVar(env, "SLURM_ARRAY_TASK_MAX");
  const listed = wholeVar(env, "SLURM_ARRAY_TASK_COUNT");
  if (max === undefined && listed === undefined) {
    throw new ShardAutoError("neither SLURM_ARRAY_TASK_MAX nor SLURM_ARRAY_TASK_COUNT is set");
  }
  const count = max === undefined ? (listed ?? 0) : Math.floor((max - min) / step) + 1;
  if (max !== undefined && (max < min || (max - min) % step !== 0)) {
    throw new ShardAutoError(`the array ${min}-${max}:${step} is not an evenly stepped range`);
  }
  if (listed !== undefined && listed !== count) {
    throw new ShardAutoError(
      `the array has ${listed} tasks between ${min} and ${max ?? "?"}: use one range ` +
        "(sbatch --array=0-N), not a list with holes",
    );
  }
  if (id < min || (id - min) % step !== 0 || (id - min) / step >= count) {
    throw new ShardAutoError(`SLURM_ARRAY_TASK_ID ${id} is not a task of the array`);
  }
  return { index: (id - min) / step + 1, count };
}

/** This Kubernetes Indexed Job pod's shard. */
function fromIndexedJob(env: Environment, index: number, countFlag?: number): Shard {
  const count = countFlag ?? wholeVar(env, "ODPSIM_SHARD_COUNT");
  if (count === undefined) {
    throw new ShardAutoError(
      "JOB_COMPLETION_INDEX is set but not the number of shards: pass --shard-count " +
        "or set ODPSIM_SHARD_COUNT (the Job's completions)",
    );
  }
  if (count < 1) throw new ShardAutoError(`the shard count must be at least 1, got ${count}`);
  if (index >= count) {
    throw new ShardAutoError(`JOB_COMPLETION_INDEX ${index} is not below the count ${count}`);
  }
  return { index: index + 1, count };
}

/**
 * The shard `--shard auto` means in `env`. `countFlag` is `--shard-count`, which only
 * an Indexed Job needs.
 */
export function shardFromEnvironment(env: Environment, countFlag?: number): Shard {
  const spec = env.ODPSIM_SHARD;
  if (spec !== undefined && spec.trim() !== "") return fromOdpsimShard(spec);
  const slurmId = wholeVar(env, "SLURM_ARRAY_TASK_ID");
  if (slurmId !== undefined) return fromSlurm(env, slurmId);
  const podIndex = wholeVar(env, "JOB_COMPLETION_INDEX");
  if (podIndex !== undefined) return fromIndexedJob(env, podIndex, countFlag);
  throw new ShardAutoError(
    "no job array found: run under sbatch --array (SLURM_ARRAY_TASK_ID), in a Kubernetes " +
      "Indexed Job (JOB_COMPLETION_INDEX, with --shard-count), or set ODPSIM_SHARD=k/n",
  );
}
