/**
 * The timeline: one lane per task, grouped by host / process / device; a cell per step
 * the task ran, operations as bars above the cells, the causal slice's steps
 * highlighted, violations in red, the cursor in blue. It shows one view (timelineView.ts)
 * at full width, the steps outside it folded into bands; the lane names sit beside the
 * drawing, whole. Click or drag to move the cursor.
 *
 * Models no kernel file.
 */
import { useEffect, useMemo, useRef } from "preact/hooks";
import type { RunFile } from "../../src/output/runFile.ts";
import { deriveOperations } from "../../src/output/traceConventions.ts";
import { COLORS, groupColor, prepareCanvas, useWidth } from "./canvas.ts";
import { laneGroups, lastStep, stepEntries } from "./model.ts";
import { StepScale, runSliceOf, type TimelineView } from "./timelineView.ts";

const AXIS_H = 22;
const GROUP_H = 20;
const LANE_H = 24;

interface Props {
  readonly run: RunFile;
  readonly step: number;
  readonly view: TimelineView;
  readonly onStep: (step: number) => void;
}

export function Timeline({ run, step, view, onStep }: Props) {
  const [box, width] = useWidth<HTMLDivElement>();
  const canvas = useRef<HTMLCanvasElement>(null);
  const layout = useMemo(() => computeLayout(run), [run]);
  const operations = useMemo(() => deriveOperations(run.entries).operations, [run]);
  const byStep = useMemo(() => stepEntries(run.entries), [run]);
  const slice = useMemo(() => runSliceOf(run), [run]);
  const steps = lastStep(run) + 1;
  const plotW = Math.max(1, width);
  const scale = useMemo(
    () => new StepScale(view, steps, plotW, slice.setupEnd),
    [view, steps, plotW, slice],
  );

  useEffect(() => {
    const el = canvas.current;
    if (el === null || width === 0) return;
    const ctx = prepareCanvas(el, plotW, layout.height);
    if (ctx === null) return;
    drawAxis(ctx, scale, layout.height);
    drawBands(ctx, scale, layout.height);
    for (const g of layout.groups) {
      ctx.fillStyle = COLORS.groupBand;
      ctx.fillRect(0, g.y, plotW, GROUP_H);
    }
    ctx.fillStyle = COLORS.slice;
    for (const s of slice.steps) {
      if (scale.shown(s))
        ctx.fillRect(scale.x(s), AXIS_H, scale.widthOf(s), layout.height - AXIS_H);
    }
    for (const lane of layout.lanes.values()) {
      ctx.fillStyle = COLORS.grid;
      ctx.fillRect(0, lane.y + LANE_H - 1, plotW, 1);
    }
    for (const e of run.entries) {
      if (e.kind !== "step") continue;
      const lane = layout.lanes.get(e.task);
      if (lane === undefined) continue; // a timer's step (task -1) has no lane
      const w = scale.widthOf(e.step);
      ctx.fillStyle = groupColor(lane.kind);
      ctx.fillRect(scale.x(e.step), lane.y + 9, Math.max(1, w - (w > 4 ? 1 : 0)), LANE_H - 12);
    }
    for (const op of operations) {
      const lane = layout.lanes.get(op.task);
      if (lane === undefined) continue;
      ctx.fillStyle = op.unfinished ? "#98a2b3" : "#344054";
      const x0 = scale.x(op.beginStep);
      const x1 = scale.x(op.endStep) + scale.widthOf(op.endStep);
      ctx.fillRect(x0, lane.y + 2 + Math.min(op.depth, 2) * 2.5, Math.max(1, x1 - x0), 2);
    }
    for (const v of run.violations) drawViolation(ctx, scale, layout, v);
    const cw = Math.max(2, scale.widthOf(step));
    ctx.fillStyle = "rgba(29, 78, 216, 0.12)";
    ctx.fillRect(scale.x(step), AXIS_H, cw, layout.height - AXIS_H);
    ctx.fillStyle = COLORS.cursor;
    ctx.fillRect(scale.x(step) + cw / 2 - 1, 0, 2, layout.height);
  }, [run, step, width, layout, operations, plotW, scale, slice]);

  const stepAt = (clientX: number): number | null => {
    const el = canvas.current;
    if (el === null) return null;
    return scale.stepAt(clientX - el.getBoundingClientRect().left);
  };
  const pick = (clientX: number) => {
    const s = stepAt(clientX);
    if (s !== null) onStep(s);
  };
  /** The step and what ran in it, as the canvas's tooltip. */
  const hover = (clientX: number) => {
    const el = canvas.current;
    const s = stepAt(clientX);
    if (el === null || s === null) return;
    const e = byStep[s];
    const who =
      e === undefined
        ? ""
        : ` · ${layout.lanes.get(e.task)?.label ?? "timer"} · ${e.label || "(yield)"}`;
    el.title = `step ${s}${who}`;
  };

  return (
    <div class="timeline">
      <div class="lane-names" data-testid="lane-names" style={{ paddingTop: `${AXIS_H}px` }}>
        {layout.groups.map((g) => (
          <div key={`${g.kind}/${g.name}`}>
            <div class="group-name" style={{ height: `${GROUP_H}px` }}>
              {g.kind} {g.name}
            </div>
            {g.lanes.map((l) => (
              <div
                key={l.label}
                class="lane-name"
                data-testid="lane-name"
                style={{ height: `${LANE_H}px` }}
              >
                {l.label}
              </div>
            ))}
          </div>
        ))}
      </div>
      <div class="plot" ref={box}>
        <canvas
          ref={canvas}
          data-testid="timeline"
          data-view={view.name}
          data-view-from={view.from}
          data-view-to={view.to}
          data-column-width={scale.columnWidth}
          data-slice-steps={slice.steps.join(" ")}
          data-columns={shownColumns(scale)}
          data-bands={scale.bands.map((b) => `${b.from}-${b.to - 1}:${b.label}`).join("|")}
          aria-label={`timeline of ${run.tasks.length} tasks, steps ${view.from} to ${view.to - 1} of ${steps}`}
          onMouseDown={(e) => {
            pick(e.clientX);
          }}
          onMouseMove={(e) => {
            hover(e.clientX);
            if (e.buttons === 1) pick(e.clientX);
          }}
        />
      </div>
    </div>
  );
}

/** `step:x` of each step drawn as a column, x its middle: what a test reads pixels at. */
function shownColumns(scale: StepScale): string {
  const out: string[] = [];
  for (let s = scale.view.from; s < scale.view.to; s++) {
    out.push(`${s}:${Math.floor(scale.x(s) + scale.widthOf(s) / 2)}`);
  }
  return out.join(" ");
}

interface Lane {
  readonly y: number;
  readonly label: string;
  readonly kind: string;
}

interface Layout {
  readonly lanes: ReadonlyMap<number, Lane>;
  readonly groups: readonly { kind: string; name: string; y: number; lanes: Lane[] }[];
  readonly height: number;
}

function computeLayout(run: RunFile): Layout {
  const lanes = new Map<number, Lane>();
  const groups: { kind: string; name: string; y: number; lanes: Lane[] }[] = [];
  let y = AXIS_H;
  for (const g of laneGroups(run.tasks)) {
    const group = { kind: g.kind, name: g.name, y, lanes: [] as Lane[] };
    groups.push(group);
    y += GROUP_H;
    for (const t of g.tasks) {
      const lane = { y, label: `${t.name}#${t.id}`, kind: g.kind };
      lanes.set(t.id, lane);
      group.lanes.push(lane);
      y += LANE_H;
    }
  }
  return { lanes, groups, height: y + 4 };
}

function drawViolation(
  ctx: CanvasRenderingContext2D,
  scale: StepScale,
  layout: Layout,
  v: RunFile["violations"][number],
) {
  const vx = scale.x(v.step) + scale.widthOf(v.step) / 2;
  ctx.fillStyle = COLORS.violation;
  ctx.fillRect(vx - 1, AXIS_H, 2, layout.height - AXIS_H);
  ctx.beginPath();
  ctx.moveTo(vx - 6, 2);
  ctx.lineTo(vx + 6, 2);
  ctx.lineTo(vx, AXIS_H - 4);
  ctx.closePath();
  ctx.fill();
  const lane = layout.lanes.get(taskIdOf(v.task));
  if (lane !== undefined) {
    ctx.fillRect(scale.x(v.step), lane.y + 5, Math.max(3, scale.widthOf(v.step)), LANE_H - 8);
  }
}

/** The folded ranges: hatched, with what they hold. */
function drawBands(ctx: CanvasRenderingContext2D, scale: StepScale, height: number) {
  for (const b of scale.bands) {
    ctx.fillStyle = COLORS.band;
    ctx.fillRect(b.x, AXIS_H, b.width, height - AXIS_H);
    ctx.save();
    ctx.translate(b.x + b.width / 2, AXIS_H + 8);
    ctx.rotate(Math.PI / 2);
    ctx.fillStyle = COLORS.muted;
    ctx.fillText(b.label, 0, 0);
    ctx.restore();
  }
}

function drawAxis(ctx: CanvasRenderingContext2D, scale: StepScale, height: number) {
  const { from, to } = scale.view;
  const every = niceInterval(to - from, (scale.columnWidth * (to - from)) / 70);
  ctx.fillStyle = COLORS.muted;
  for (let s = from; s < to; s += every) {
    ctx.fillStyle = COLORS.grid;
    ctx.fillRect(scale.x(s), AXIS_H - 4, 1, height - AXIS_H + 4);
    ctx.fillStyle = COLORS.muted;
    ctx.fillText(String(s), scale.x(s) + 3, AXIS_H / 2);
  }
}

/** 1, 2, 5, 10, 20, 50, ... so that at most `maxTicks` labels fit. */
function niceInterval(steps: number, maxTicks: number): number {
  const raw = steps / Math.max(1, Math.floor(maxTicks));
  for (let base = 1; ; base *= 10) {
    for (const m of [1, 2, 5]) if (base * m >= raw) return base * m;
  }
}

/** The task id in a violation's task label (`name#id`), or -1. */
function taskIdOf(label: string | null): number {
  const m = label === null ? null : /#(\d+)$/.exec(label);
  return m === null ? -1 : Number(m[1]);
}
