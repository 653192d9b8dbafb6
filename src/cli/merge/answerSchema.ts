/**
 * What `odpsim merge` reads: one `explore --json` answer (src/cli/explore/render.ts's
 * exploreJson), as far as merging needs it. Fields merge does not look at (the report,
 * its rows, the depth) are kept as they are and carried into the merged answer.
 *
 * Models no kernel file.
 */
import { z } from "zod";
import { STRATEGY_NAMES } from "../../check/explore.ts";
import { VERDICTS } from "../../check/verdict.ts";
import { TIMINGS } from "../../sim/timing.ts";

const index = z.number().int().nonnegative();

/** The search an answer is part of: shards of one search agree on all of it. */
const search = z.object({
  scenario: z.string(),
  scenarioHash: z.string(),
  file: z.string().optional(),
  design: z.string(),
  defects: z.array(z.string()),
  strategy: z.enum(STRATEGY_NAMES),
  timing: z.enum(TIMINGS),
  seed: index,
  schedules: index,
  faults: z.unknown(),
  pctDepth: z.number().int().optional(),
});

const violation = z.looseObject({ kind: z.string(), message: z.string() });

const internalError = z.looseObject({
  index,
  seed: index,
  message: z.string(),
  token: z.string(),
});

export const exploreAnswerSchema = z.looseObject({
  verdict: z.enum(VERDICTS),
  found: z.boolean(),
  schedulesRun: index,
  inconclusive: index,
  inconclusiveIndices: z.array(index),
  seconds: z.number().nonnegative(),
  search,
  shard: z.string().optional(),
  schedulesToFind: index.nullable().optional(),
  index: index.optional(),
  seed: index.optional(),
  violation: violation.optional(),
  report: z.string().optional(),
  token: z.string().optional(),
  internalError: internalError.optional(),
});

export type ExploreAnswer = z.infer<typeof exploreAnswerSchema>;
export type SearchOfAnswer = ExploreAnswer["search"];

/** The fields of `search` that make two answers parts of one search (not the file path). */
export const SEARCH_KEYS = [
  "scenario",
  "scenarioHash",
  "design",
  "defects",
  "strategy",
  "timing",
  "seed",
  "schedules",
  "faults",
  "pctDepth",
] as const satisfies readonly (keyof SearchOfAnswer)[];
