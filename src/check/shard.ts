/**
 * `--shard k/n`: which part of a search this process runs.
 *
 * Models no kernel file. Shard k of n (1-based, as cluster job arrays number tasks)
 * owns the schedule indices i with i mod n = k-1, so the n shards together run every
 * index exactly once and their results merge by taking the lowest failing index.
 */
import type { Partition } from "./explore.ts";

export interface Shard {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

export class ShardSpecError extends Error {
  constructor(
    readonly spec: string,
    reason: string,
  ) {
    super(`--shard expects k/n with whole numbers 1 <= k <= n, got "${spec}": ${reason}`);
    this.name = "ShardSpecError";
  }
}

const SHARD = /^\s*([0-9]+)\s*\/\s*([0-9]+)\s*$/;

/** Parses "k/n". */
export function parseShard(spec: string): Shard {
  const m = SHARD.exec(spec);
  if (m === null) throw new ShardSpecError(spec, "not of the form k/n");
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count)) {
    throw new ShardSpecError(spec, "number too large");
  }
  if (count < 1) throw new ShardSpecError(spec, "n must be at least 1");
  if (index < 1) throw new ShardSpecError(spec, "k must be at least 1 (shards count from 1)");
  if (index > count) throw new ShardSpecError(spec, `k must be at most n (${count})`);
  return { index, count };
}

export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

/** The indices of `shard`, split among `workers`: worker w's partition. */
export function workerPartition(shard: Shard, workers: number, worker: number): Partition {
  // Shard indices are (k-1) + n·j; worker w takes those with j mod W = w.
  return { modulus: shard.count * workers, residue: shard.index - 1 + shard.count * worker };
}
