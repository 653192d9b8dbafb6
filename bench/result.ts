/**
 * One benchmark figure. `id` is stable across versions (dashboards key on it); when a
 * figure is compared with a baseline measured in the same run, `baseline` holds the
 * baseline's value and `ratio` = value / baseline.
 */
export interface BenchResult {
  readonly id: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline?: number;
  readonly ratio?: number;
}

/** A group of benchmarks that share setup; `prefix` is what `--filter` matches. */
export interface BenchSuite {
  /** Names the suite to the process that runs it (suiteMain.ts). */
  readonly name: string;
  readonly prefix: string;
  readonly run: () => Promise<BenchResult[]>;
}
