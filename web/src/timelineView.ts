/**
 * Which steps the timeline shows at full width, and where each step is drawn: the run
 * opens on the race window (the causal slice's steps up to the violation), everything
 * before it folded into one narrow band on the left (the setup phase first of all), and
 * anything after it into one on the right.
 *
 * Models no kernel file. Pure, so the node tests can check it.
 */
import type { RunFile, RunSlice } from "../../src/output/runFile.ts";
import { setupPhaseEnd } from "../../src/check/slice.ts";
import { lastStep } from "./model.ts";

/** Steps [from, to) are drawn at full width; the others are folded into bands. */
export interface TimelineView {
  readonly name: ViewName;
  readonly from: number;
  readonly to: number;
}

/** The race window, the run after its setup, or the whole run. */
export type ViewName = "race" | "run" | "all";

export const VIEW_NAMES: readonly ViewName[] = ["race", "run", "all"];

/** Steps of context shown before the first slice step. */
const CONTEXT_STEPS = 2;

/** The run's causal slice: the run file's, or for a run without one its setup's end only. */
export function runSliceOf(run: RunFile): RunSlice {
  if (run.slice !== undefined) return run.slice;
  const setupEnd = setupPhaseEnd(run);
  return { steps: [], windowStart: setupEnd, setupEnd, objects: [], rows: [] };
}

/** The step the viewer opens at: the first violation's, else 0. */
export function initialStep(run: RunFile): number {
  return run.violations[0]?.step ?? 0;
}

export function viewOf(run: RunFile, name: ViewName): TimelineView {
  const steps = lastStep(run) + 1;
  const slice = runSliceOf(run);
  if (name === "all") return { name, from: 0, to: steps };
  if (name === "run") return { name, from: Math.min(slice.setupEnd, steps - 1), to: steps };
  const violation = run.violations[0]?.step;
  if (violation === undefined)
    return { name, from: Math.min(slice.setupEnd, steps - 1), to: steps };
  const first = Math.min(violation, ...slice.steps);
  const from = Math.max(0, first - CONTEXT_STEPS);
  return { name, from, to: Math.min(steps, violation + 1) };
}

/** A folded range of steps and what it is called. */
export interface Band {
  readonly from: number;
  readonly to: number;
  readonly x: number;
  readonly width: number;
  readonly label: string;
}

/** Width of a folded band, in pixels. */
export const BAND_WIDTH = 64;

/** Steps to pixels across `width` for a view: folded bands at the sides, columns between. */
export class StepScale {
  readonly bands: readonly Band[];
  private readonly left: number;
  readonly columnWidth: number;

  constructor(
    readonly view: TimelineView,
    readonly steps: number,
    readonly width: number,
    setupEnd: number,
  ) {
    const bands: Band[] = [];
    if (view.from > 0) {
      const setup = view.from <= setupEnd;
      const label = setup ? `setup · ${view.from} steps` : `steps 0–${view.from - 1}`;
      bands.push({ from: 0, to: view.from, x: 0, width: BAND_WIDTH, label });
    }
    const right = view.to < steps;
    this.left = bands.length > 0 ? BAND_WIDTH : 0;
    const middle = Math.max(1, width - this.left - (right ? BAND_WIDTH : 0));
    this.columnWidth = middle / Math.max(1, view.to - view.from);
    if (right) {
      bands.push({
        from: view.to,
        to: steps,
        x: width - BAND_WIDTH,
        width: BAND_WIDTH,
        label: `steps ${view.to}–${steps - 1}`,
      });
    }
    this.bands = bands;
  }

  /** Whether `step` is drawn as a column (not folded). */
  shown(step: number): boolean {
    return step >= this.view.from && step < this.view.to;
  }

  /** The left edge of `step`: its column, or its place within its band. */
  x(step: number): number {
    if (this.shown(step)) return this.left + (step - this.view.from) * this.columnWidth;
    const band = this.bands.find((b) => step >= b.from && step < b.to);
    if (band === undefined) return this.width;
    return band.x + ((step - band.from) / Math.max(1, band.to - band.from)) * band.width;
  }

  /** The width drawn for `step`. */
  widthOf(step: number): number {
    if (this.shown(step)) return this.columnWidth;
    const band = this.bands.find((b) => step >= b.from && step < b.to);
    return band === undefined ? 0 : band.width / Math.max(1, band.to - band.from);
  }

  /** The step under pixel `x`. */
  stepAt(x: number): number {
    const band = this.bands.find((b) => x >= b.x && x < b.x + b.width);
    if (band !== undefined) {
      const i = Math.floor(((x - band.x) / band.width) * (band.to - band.from));
      return Math.min(band.to - 1, band.from + Math.max(0, i));
    }
    const i = Math.floor((x - this.left) / this.columnWidth);
    return Math.min(this.view.to - 1, Math.max(this.view.from, this.view.from + i));
  }
}
