/**
 * A soak: a campaign that goes on after each failure, to list every distinct way a
 * fixed budget of programs breaks a design (`odpsim fuzz --keep-going`, the soak bench).
 *
 * Models no kernel file. The programs are the campaign's (campaign.ts), so the budget,
 * the seed and the strategy alone decide what is found. Each failing program is keyed
 * (failureKey.ts); the first program of each key is kept, the others only counted.
 * Nothing is shrunk here: a caller shrinks the first program of a key it cares about.
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

export type SoakOptions = Omit<CampaignOptions, "maxShrinks" | "onFailure"> & {
  readonly programs: number;
};

export function runSoak(o: SoakOptions): SoakResult {
  const keys = new Map<string, { count: number; first: CampaignFailure }>();
  let failures = 0;
  const r = runCampaign({
    ...o,
    maxShrinks: 0,
    onFailure: (f) => {
      failures++;
      const seen = keys.get(f.key);
      if (seen === undefined) keys.set(f.key, { count: 1, first: f });
      else seen.count++;
      return true;
    },
  });
  return {
    programsRun: r.programsRun,
    schedulesRun: r.schedulesRun,
    inconclusiveRuns: r.inconclusiveRuns,
    failures,
    keys: [...keys].map(([key, k]) => ({ key, ...k })),
  };
}
