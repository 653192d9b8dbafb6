/**
 * A soak: a campaign that goes on after each failure, to list every distinct way a
 * fixed budget of programs breaks a design (`odpsim fuzz --keep-going`, the soak bench).
 *
 * Models no kernel file. The programs are the campaign's (campaign.ts), so the budget,
 * the seed and the strategy alone decide what is found. Each failing program is keyed
 * (failureKey.ts); the first program of each key is kept (and shrunk, if the campaign
 * shrinks), the others only counted. Partitions of one campaign (workers, shards) merge
 * into the list one campaign gives: each key's count summed and its lowest program kept,
 * which is the first of that key in the partition that ran it, so it was the one shrunk.
 */
import { runCampaign, type CampaignFailure, type CampaignOptions } from "./campaign.ts";

export interface SoakKey {
  readonly key: string;
  /** Programs that failed with this key. */
  readonly count: number;
  /** The first of them. */
  readonly first: CampaignFailure;
}

export interface SoakResult {
  readonly programsRun: number;
  readonly schedulesRun: number;
  readonly inconclusiveRuns: number;
  /** Programs that failed (a violation of the model or an internal error). */
  readonly failures: number;
  /** One entry per key, in the order they were first seen. */
  readonly keys: readonly SoakKey[];
}

/** A campaign's failures by key: its `onFailure` (go on) and `alreadyShrunk`. */
export class FailureKeys {
  private readonly byKey = new Map<string, { count: number; first: CampaignFailure }>();
  private failed = 0;

  readonly onFailure = (f: CampaignFailure): boolean => {
    this.failed++;
    const seen = this.byKey.get(f.key);
    if (seen === undefined) this.byKey.set(f.key, { count: 1, first: f });
    else seen.count++;
    return true;
  };

  /** Only the first program of a key is shrunk. */
  readonly alreadyShrunk = (key: string): boolean => this.byKey.has(key);

  get failures(): number {
    return this.failed;
  }

  /** One entry per key, by first program. */
  keys(): SoakKey[] {
    return [...this.byKey].map(([key, k]) => ({ key, ...k }));
  }
}

/** The keys of a campaign's partitions as one campaign's: counts summed, lowest first kept. */
export function mergeKeys(lists: readonly (readonly SoakKey[])[]): SoakKey[] {
  const merged = new Map<string, SoakKey>();
  for (const k of lists.flat()) {
    const seen = merged.get(k.key);
    if (seen === undefined) merged.set(k.key, k);
    else {
      const first = k.first.program < seen.first.program ? k.first : seen.first;
      merged.set(k.key, { key: k.key, count: seen.count + k.count, first });
    }
  }
  return [...merged.values()].sort((a, b) => a.first.program - b.first.program);
}

export type SoakOptions = Omit<CampaignOptions, "maxShrinks" | "onFailure"> & {
  readonly programs: number;
};

/** Every key of `o.programs` programs, nothing shrunk (a caller shrinks what it cares about). */
export function runSoak(o: SoakOptions): SoakResult {
  const keys = new FailureKeys();
  const r = runCampaign({
    ...o,
    maxShrinks: 0,
    onFailure: keys.onFailure,
  });
  return {
    programsRun: r.programsRun,
    schedulesRun: r.schedulesRun,
    inconclusiveRuns: r.inconclusiveRuns,
    failures: keys.failures,
    keys: keys.keys(),
  };
}
