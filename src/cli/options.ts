/**
 * Parsers for the command line's option values. Each throws commander's
 * InvalidArgumentError, which commander reports as one line (exit 2).
 *
 * Models no kernel file.
 */
import { InvalidArgumentError } from "commander";
import type { DfsReduction, StrategyName } from "../check/explore.ts";
import { parseShard, ShardSpecError, type Shard } from "../check/shard.ts";
import { isTiming, TIMINGS, type Timing } from "../sim/timing.ts";
import { REPORT_FORMATS, type ReportFormat } from "../check/renderReport.ts";
import {
  FUZZ_STRATEGY_NAMES,
  isFuzzStrategyName,
  type FuzzStrategyName,
} from "../scenario/fuzz/strategies.ts";

/** An integer option in [min, max]. */
export function intOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        `${name} must be an integer in [${min}, ${max}], got "${value}"`,
      );
    }
    return n;
  };
}

export function strategyOption(value: string): StrategyName {
  if (value === "random" || value === "pct" || value === "dfs") return value;
  throw new InvalidArgumentError(`--strategy must be random, pct or dfs, got "${value}"`);
}

/** `odpsim fuzz --strategy` values: the fuzz strategies' registry (strategies.ts). */
export function fuzzStrategyOption(value: string): FuzzStrategyName {
  if (isFuzzStrategyName(value)) return value;
  throw new InvalidArgumentError(
    `--strategy must be ${FUZZ_STRATEGY_NAMES.join(" or ")}, got "${value}"`,
  );
}

export function reductionOption(value: string): DfsReduction {
  if (value === "sleep-sets" || value === "none") return value;
  throw new InvalidArgumentError(`--reduction must be sleep-sets or none, got "${value}"`);
}

export function timingOption(value: string): Timing {
  if (isTiming(value)) return value;
  throw new InvalidArgumentError(`--timing must be ${TIMINGS.join(" or ")}, got "${value}"`);
}

/** The help of --timing, with the command's default. */
export function timingHelp(defaultTiming: Timing): string {
  return (
    "nominal (sleeps and costs exact, time moves only when nothing can run) | free " +
    `(firing the earliest timer is one more scheduling choice); default ${defaultTiming}`
  );
}

export function rateOption(value: string): number {
  const p = Number(value);
  if (!(p > 0 && p <= 1))
    throw new InvalidArgumentError(`--fault-rate must be in (0, 1], got "${value}"`);
  return p;
}

/** `--shard` values: k/n, or "auto" (taken from the job array's environment later). */
export function shardOption(value: string): Shard | "auto" {
  if (value.trim() === "auto") return "auto";
  try {
    return parseShard(value);
  } catch (error) {
    if (error instanceof ShardSpecError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

/** A repeatable option: every value, in order. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--format` values: the race report's formats. */
export function reportFormatOption(value: string): ReportFormat {
  const format = REPORT_FORMATS.find((f) => f === value);
  if (format === undefined) {
    throw new InvalidArgumentError(
      `--format must be ${REPORT_FORMATS.join(" or ")}, got "${value}"`,
    );
  }
  return format;
}

/** The `--defect` value that switches a scenario file's defects off. */
export const NO_DEFECTS = "none";

/** `--defect` values, repeatable; `none` stands alone. */
export function collectDefects(value: string, previous: string[]): string[] {
  if (value === NO_DEFECTS ? previous.length > 0 : previous.includes(NO_DEFECTS)) {
    throw new InvalidArgumentError(
      `--defect ${NO_DEFECTS} switches every defect off; give it alone`,
    );
  }
  return [...previous, value];
}

/** What `--defect` asks: undefined (not given: the file's), [] (`none`) or these ids. */
export function defectsOverride(values: readonly string[]): readonly string[] | undefined {
  if (values.length === 0) return undefined;
  return values.includes(NO_DEFECTS) ? [] : values;
}
