/**
 * `odpsim merge`'s combine step: the `explore --json` answers of the shards of one
 * search into the answer one process would have given for the whole search.
 *
 * Models no kernel file. Shard k of n ran the indices i with i mod n = k-1 (shard.ts)
 * and stopped at its own first failure or internal error. One process runs the indices
 * in order and stops at the lowest such index over all shards, S; every index below S
 * belongs to some shard that ran it (a shard stops only at or above S). So the whole
 * search's answer is S's outcome with its report and token, the runs below S
 * (schedulesRun = S + 1, or the budget when nothing stopped it), and the inconclusive
 * indices below S; what shards saw above S a single process never reaches and is
 * dropped from the answer, except that internal errors above S are still listed under
 * `merge` (each is a bug in odpsim worth a replay).
 *
 * A missing shard leaves indices unsearched: a merge that found nothing then says
 * inconclusive, never clean, and a failure found is flagged when a missing shard owns
 * indices below it (a lower one may exist there).
 */
import { formatShard, parseShard, ShardSpecError, type Shard } from "../../check/shard.ts";
import { verdictOf, type Verdict } from "../../check/verdict.ts";
import { UsageError } from "../usageError.ts";
import { SEARCH_KEYS, type ExploreAnswer } from "./answerSchema.ts";

/** One shard's answer and the file it came from. */
export interface ShardAnswer {
  readonly file: string;
  readonly answer: ExploreAnswer;
}

export interface MergeFacts {
  readonly shards: number;
  readonly present: readonly string[];
  readonly missing: readonly string[];
  /** Every index below the answer's stopping point (or the budget) was searched. */
  readonly complete: boolean;
  /** Runs the shards made, including those above the answer's stopping point. */
  readonly schedulesRunByShards: number;
  readonly secondsByShards: number;
  /** Every internal error any shard stopped at, the answer's own included. */
  readonly internalErrors: readonly { shard: string; index: number; token: string }[];
}

export interface MergedAnswer {
  /** The whole search's answer, in `explore --json`'s shape, with `merge` added. */
  readonly answer: Record<string, unknown> & { readonly merge: MergeFacts };
  readonly verdict: Verdict;
}

function shardOf(part: ShardAnswer): Shard {
  try {
    return parseShard(part.answer.shard ?? "1/1");
  } catch (error) {
    if (error instanceof ShardSpecError) throw new UsageError(`${part.file}: ${error.message}`);
    throw error;
  }
}

/** The first field in which `b`'s search differs from `a`'s, or null. */
function searchDifference(a: ShardAnswer, b: ShardAnswer): string | null {
  for (const key of SEARCH_KEYS) {
    const x = shown(a.answer.search[key]);
    const y = shown(b.answer.search[key]);
    if (x !== y) return `${key} ${y} vs ${x}`;
  }
  const n = shardOf(a).count;
  const m = shardOf(b).count;
  return n === m ? null : `shard count ${m} vs ${n}`;
}

/** The answers by shard index; refuses mixed searches and conflicting duplicates. */
function byShard(parts: readonly ShardAnswer[]): Map<number, ShardAnswer> {
  const first = parts[0];
  if (first === undefined) throw new UsageError("merge: no shard answers to merge");
  if (first.answer.search.strategy === "dfs") {
    throw new UsageError(`${first.file}: a dfs search runs in one process; nothing to merge`);
  }
  const seen = new Map<number, ShardAnswer>();
  for (const part of parts) {
    const diff = searchDifference(first, part);
    if (diff !== null) {
      throw new UsageError(`${part.file}: not the same search as ${first.file} (${diff})`);
    }
    const k = ownIndices(part);
    const other = seen.get(k);
    if (other === undefined) seen.set(k, part);
    else if (stopOf(other.answer)?.index !== stopOf(part.answer)?.index) {
      throw new UsageError(
        `${part.file} and ${other.file} both answer shard ${part.answer.shard ?? "1/1"}, differently`,
      );
    }
  }
  return seen;
}

/** The shard's index, once every index its answer names is checked to be the shard's own. */
function ownIndices(part: ShardAnswer): number {
  const { index: k, count: n } = shardOf(part);
  const named = [...part.answer.inconclusiveIndices, stopOf(part.answer)?.index ?? k - 1];
  const stray = named.find((i) => i % n !== k - 1);
  if (stray !== undefined) {
    throw new UsageError(
      `${part.file}: schedule ${stray} is not shard ${k}/${n}'s (i mod ${n} = ${k - 1})`,
    );
  }
  return k;
}

/** Where a shard stopped: its internal error or its failure, or null (ran all its indices). */
function stopOf(a: ExploreAnswer): { index: number; error: boolean } | null {
  if (a.internalError !== undefined) return { index: a.internalError.index, error: true };
  if (a.index !== undefined && a.found) return { index: a.index, error: false };
  return null;
}

/** The indices below `limit` that shard k of n owns. */
function ownedBelow(limit: number, k: number, n: number): number {
  return limit <= k - 1 ? 0 : Math.ceil((limit - (k - 1)) / n);
}

/** The part whose stop is the lowest (an internal error before a failure at a tie). */
function lowestStop(parts: readonly ShardAnswer[]): ShardAnswer | null {
  let best: ShardAnswer | null = null;
  for (const p of parts) {
    const s = stopOf(p.answer);
    const b = best === null ? null : stopOf(best.answer);
    if (s !== null && (b === null || s.index < b.index)) best = p;
  }
  return best;
}

/** Combines the answers of the shards of one search; throws UsageError if they are not. */
export function mergeAnswers(parts: readonly ShardAnswer[]): MergedAnswer {
  const shards = byShard(parts);
  const present = [...shards.values()];
  const first = present[0] as ShardAnswer;
  const n = shardOf(first).count;
  const budget = first.answer.search.schedules;
  const winner = lowestStop(present);
  const stop = winner === null ? null : stopOf(winner.answer);
  const limit = stop === null ? budget : stop.index + 1;
  const missing: number[] = [];
  for (let k = 1; k <= n; k++) if (!shards.has(k)) missing.push(k);
  const complete = missing.every((k) => k - 1 >= (stop?.index ?? budget));
  const inconclusiveIndices = present
    .flatMap((p) => p.answer.inconclusiveIndices)
    .filter((i) => stop === null || i < stop.index)
    .sort((a, b) => a - b);
  const verdict = verdictOf({
    internalError: stop?.error === true,
    violation: stop?.error === false,
    inconclusive: inconclusiveIndices.length > 0 || !complete,
  });
  const base = { ...(winner ?? first).answer };
  delete base.shard;
  const merge: MergeFacts = {
    shards: n,
    present: [...shards.keys()]
      .sort((a, b) => a - b)
      .map((k) => formatShard({ index: k, count: n })),
    missing: missing.map((k) => formatShard({ index: k, count: n })),
    complete,
    schedulesRunByShards: present.reduce((sum, p) => sum + p.answer.schedulesRun, 0),
    secondsByShards: round3(present.reduce((sum, p) => sum + p.answer.seconds, 0)),
    internalErrors: present
      .flatMap((p) => {
        const e = p.answer.internalError;
        return e === undefined
          ? []
          : [{ shard: p.answer.shard ?? "1/1", index: e.index, token: e.token }];
      })
      .sort((a, b) => a.index - b.index),
  };
  return {
    verdict,
    answer: {
      ...base,
      verdict,
      schedulesRun: [...shards.keys()].reduce((sum, k) => sum + ownedBelow(limit, k, n), 0),
      inconclusive: inconclusiveIndices.length,
      inconclusiveIndices,
      // The shards ran side by side: the whole search took as long as the slowest.
      seconds: Math.max(...present.map((p) => p.answer.seconds)),
      merge,
    },
  };
}

/** A search field as the refusal quotes it. */
function shown(value: unknown): string {
  return value === undefined ? "(none)" : JSON.stringify(value);
}

function round3(x: number): number {
  return Number(x.toFixed(3));
}
