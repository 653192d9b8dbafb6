/**
 * Progress of a long command on stderr: a bar, done of the total, the rate, the time
 * elapsed and the time left, redrawn in place and cleared at the end. Drawn only for a
 * person watching: stderr a terminal, not in CI (the CI variable set) and not with
 * --json; pipes and logs stay clean.
 *
 * Models no kernel file. The wall clock here only paces the drawing and estimates the
 * time left; it never reaches a run. ODPSIM_PROGRESS_TTY=1 treats stderr as a terminal
 * (how the tests see the bar through a pipe).
 */

/** Where the bar goes, and what says whether to draw it. */
export interface ProgressTarget {
  readonly isTTY: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly write: (text: string) => void;
  /** Milliseconds, for the rate and the pacing. */
  readonly now: () => number;
}

export interface Progress {
  /** `done` of the total are finished. */
  tick(done: number): void;
  /** Clears the bar. */
  end(): void;
}

/** Redraw at most this often: a search finishes thousands of schedules a second. */
const REDRAW_MS = 100;
const BAR_WIDTH = 24;

const stderrTarget: ProgressTarget = {
  isTTY: process.stderr.isTTY,
  env: process.env,
  write: (text) => process.stderr.write(text),
  now: () => performance.now(),
};

/** Whether a bar is drawn: a terminal (or one forced), no CI, no JSON. */
export function progressShown(
  target: Pick<ProgressTarget, "isTTY" | "env">,
  json: boolean,
): boolean {
  if (json) return false;
  const ci = target.env.CI;
  if (ci !== undefined && ci !== "" && ci !== "0" && ci !== "false") return false;
  return target.isTTY || target.env.ODPSIM_PROGRESS_TTY === "1";
}

const NO_PROGRESS: Progress = { tick: () => undefined, end: () => undefined };

/** A bar for `total` `unit`s of work (e.g. 20000 schedules), or nothing when not shown. */
export function startProgress(
  label: string,
  unit: string,
  total: number,
  opts: { readonly json: boolean; readonly target?: ProgressTarget },
): Progress {
  const target = opts.target ?? stderrTarget;
  if (!progressShown(target, opts.json) || total <= 0) return NO_PROGRESS;
  const started = target.now();
  let drawnAt = -Infinity;
  let drawn = false;
  return {
    tick(done) {
      const now = target.now();
      if (now - drawnAt < REDRAW_MS && done < total) return;
      drawnAt = now;
      drawn = true;
      target.write(`\r${progressLine(label, unit, done, total, now - started)}\x1b[K`);
    },
    end() {
      if (drawn) target.write("\r\x1b[K");
    },
  };
}

/** One redraw: `label [####----] done/total unit  rate/s  elapsed E  left L`. */
export function progressLine(
  label: string,
  unit: string,
  done: number,
  total: number,
  elapsedMs: number,
): string {
  const shown = Math.min(done, total);
  const filled = Math.round((BAR_WIDTH * shown) / total);
  const bar = `${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}`;
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? shown / seconds : 0;
  const left = rate > 0 ? duration((total - shown) / rate) : "?";
  return (
    `${label} [${bar}] ${shown}/${total} ${unit}  ${rateText(rate)}/s  ` +
    `elapsed ${duration(seconds)}  left ${left}`
  );
}

function rateText(rate: number): string {
  return rate >= 100 ? String(Math.round(rate)) : rate.toFixed(1);
}

/** 4.2s, 3m05s, 1h02m. */
export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
