/**
 * Sleep sets (Godefroid, "Partial-Order Methods for the Verification of Concurrent
 * Systems", 1996): which tasks a systematic search need not run next because every
 * schedule that runs them here is equivalent to one it has already explored.
 *
 * Models no kernel file. Two steps are independent when both have precise footprints
 * (see src/sim/footprint.ts) that share no key: then they commute, and neither
 * enables or disables the other (a task only disables itself; waking touches the
 * woken task's key). A missing or opaque footprint is dependent on everything, which
 * only costs reduction, never soundness.
 */

/** The shared objects one step touched, or opaque when they are not known. */
export interface StepFootprint {
  opaque: boolean;
  readonly keys: string[];
}

/** A task asleep at a choice point, with the footprint its next step had there. */
export interface SleepEntry {
  readonly task: number;
  readonly footprint: StepFootprint;
}

/** Whether two steps taken from the same state commute. */
export function independent(a: StepFootprint | null, b: StepFootprint | null): boolean {
  if (a === null || b === null || a.opaque || b.opaque) return false;
  for (const key of a.keys) if (b.keys.includes(key)) return false;
  return true;
}

/**
 * The sleep set after a step with footprint `step`: the entries that stay asleep are
 * those the step is independent of (a dependent step may change what they would do).
 */
export function sleepAfter(
  entries: readonly SleepEntry[],
  step: StepFootprint | null,
): SleepEntry[] {
  return entries.filter((e) => independent(e.footprint, step));
}

export function isAsleep(sleep: readonly SleepEntry[], task: number): boolean {
  return sleep.some((e) => e.task === task);
}
