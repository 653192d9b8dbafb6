/**
 * The timeline: one lane per task, grouped by host / process / device; a cell per step
 * the task ran, operations as bars above the cells, violations in red, the cursor in
 * blue. Click or drag to move the cursor.
 *
 * Models no kernel file.
 */
import { useEffect, useMemo, useRef } from "preact/hooks";
import type { RunFile } from "../../src/output/runFile.ts";
import { deriveOperations } from "../../src/output/traceConventions.ts";
import { COLORS, FONT, groupColor, prepareCanvas, useWidth } from "./canvas.ts";
import { laneGroups, lastStep, stepAtX, stepEntries, xOfStep } from "./model.ts";

const LABEL_W = 170;
const AXIS_H = 22;
const GROUP_H = 20;
const LANE_H = 24;

interface Props {
  readonly run: RunFile;
  readonly step: number;
  readonly onStep: (step: number) => void;
}

export function Timeline({ run, step, onStep }: Props) {
  const [box, width] = useWidth<HTMLDivElement>();
  const canvas = useRef<HTMLCanvasElement>(null);
  const layout = useMemo(() => computeLayout(run), [run]);
  const operations = useMemo(() => deriveOperations(run.entries).operations, [run]);
  const byStep = useMemo(() => stepEntries(run.entries), [run]);
  const steps = lastStep(run) + 1;
  const plotW = Math.max(1, width - LABEL_W - 8);

  useEffect(() => {
    const el = canvas.current;
    if (el === null || width === 0) return;
    const ctx = prepareCanvas(el, width, layout.height);
    if (ctx === null) return;
    const x = (s: number) => LABEL_W + xOfStep(s, plotW, steps);
    const colW = Math.max(1, plotW / steps);

    drawAxis(ctx, x, steps, plotW, layout.height);
    for (const g of layout.groups) {
      ctx.fillStyle = COLORS.groupBand;
      ctx.fillRect(0, g.y, width, GROUP_H);
      ctx.fillStyle = COLORS.muted;
      ctx.font = `600 ${FONT}`;
      ctx.fillText(`${g.kind} ${g.name}`, 6, g.y + GROUP_H / 2);
      ctx.font = FONT;
    }
    for (const lane of layout.lanes.values()) {
      ctx.fillStyle = COLORS.text;
      ctx.fillText(clip(ctx, lane.label, LABEL_W - 20), 16, lane.y + LANE_H / 2);
      ctx.fillStyle = COLORS.grid;
      ctx.fillRect(LABEL_W, lane.y + LANE_H - 1, plotW, 1);
    }
    for (const e of run.entries) {
      if (e.kind !== "step") continue;
      const lane = layout.lanes.get(e.task);
      if (lane === undefined) continue;
      ctx.fillStyle = groupColor(lane.kind);
      ctx.fillRect(x(e.step), lane.y + 9, Math.max(1, colW - (colW > 4 ? 1 : 0)), LANE_H - 12);
    }
    for (const op of operations) {
      const lane = layout.lanes.get(op.task);
      if (lane === undefined) continue;
      ctx.fillStyle = op.unfinished ? "#98a2b3" : "#344054";
      const x0 = x(op.beginStep);
      ctx.fillRect(x0, lane.y + 2 + Math.min(op.depth, 2) * 2.5, x(op.endStep + 1) - x0, 2);
    }
    for (const v of run.violations) {
      const vx = x(v.step) + colW / 2;
      ctx.fillStyle = COLORS.violation;
      ctx.fillRect(vx - 1, AXIS_H, 2, layout.height - AXIS_H);
      ctx.beginPath();
      ctx.moveTo(vx - 6, 2);
      ctx.lineTo(vx + 6, 2);
      ctx.lineTo(vx, AXIS_H - 4);
      ctx.closePath();
      ctx.fill();
      const lane = layout.lanes.get(taskIdOf(v.task));
      if (lane !== undefined) ctx.fillRect(x(v.step), lane.y + 5, Math.max(3, colW), LANE_H - 8);
    }
    ctx.fillStyle = "rgba(29, 78, 216, 0.12)";
    ctx.fillRect(x(step), AXIS_H, Math.max(2, colW), layout.height - AXIS_H);
    ctx.fillStyle = COLORS.cursor;
    ctx.fillRect(x(step) + colW / 2 - 1, 0, 2, layout.height);
  }, [run, step, width, layout, operations, plotW, steps]);

  const stepAt = (clientX: number): number | null => {
    const el = canvas.current;
    if (el === null) return null;
    return stepAtX(clientX - el.getBoundingClientRect().left - LABEL_W, plotW, steps);
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
        : ` · ${layout.lanes.get(e.task)?.label ?? "?"} · ${e.label || "(yield)"}`;
    el.title = `step ${s}${who}`;
  };

  return (
    <div class="timeline" ref={box}>
      <canvas
        ref={canvas}
        data-testid="timeline"
        aria-label={`timeline of ${run.tasks.length} tasks over ${steps} steps`}
        onMouseDown={(e) => {
          pick(e.clientX);
        }}
        onMouseMove={(e) => {
          hover(e.clientX);
          if (e.buttons === 1) pick(e.clientX);
        }}
      />
    </div>
  );
}

interface Lane {
  readonly y: number;
  readonly label: string;
  readonly kind: string;
}

function computeLayout(run: RunFile) {
  const lanes = new Map<number, Lane>();
  const groups: { kind: string; name: string; y: number }[] = [];
  let y = AXIS_H;
  for (const g of laneGroups(run.tasks)) {
    groups.push({ kind: g.kind, name: g.name, y });
    y += GROUP_H;
    for (const t of g.tasks) {
      lanes.set(t.id, { y, label: `${t.name}#${t.id}`, kind: g.kind });
      y += LANE_H;
    }
  }
  return { lanes, groups, height: y + 4 };
}

function drawAxis(
  ctx: CanvasRenderingContext2D,
  x: (s: number) => number,
  steps: number,
  plotW: number,
  height: number,
) {
  const every = niceInterval(steps, plotW / 70);
  ctx.fillStyle = COLORS.muted;
  ctx.fillText("step", 6, AXIS_H / 2);
  for (let s = 0; s < steps; s += every) {
    ctx.fillStyle = COLORS.grid;
    ctx.fillRect(x(s), AXIS_H - 4, 1, height - AXIS_H + 4);
    ctx.fillStyle = COLORS.muted;
    ctx.fillText(String(s), x(s) + 3, AXIS_H / 2);
  }
}

/** 1, 2, 5, 10, 20, 50, ... so that at most `maxTicks` labels fit. */
function niceInterval(steps: number, maxTicks: number): number {
  const raw = steps / Math.max(1, Math.floor(maxTicks));
  for (let base = 1; ; base *= 10) {
    for (const m of [1, 2, 5]) if (base * m >= raw) return base * m;
  }
}

function clip(ctx: CanvasRenderingContext2D, text: string, maxW: number): string {
  if (ctx.measureText(text).width <= maxW) return text;
  let t = text;
  while (t.length > 1 && ctx.measureText(`${t}…`).width > maxW) t = t.slice(0, -1);
  return `${t}…`;
}

/** The task id in a violation's task label (`name#id`), or -1. */
function taskIdOf(label: string | null): number {
  const m = label === null ? null : /#(\d+)$/.exec(label);
  return m === null ? -1 : Number(m[1]);
}
