/**
 * An MR as the device sees it at the cursor: one cell per translation, with the frame it
 * maps; stale ones (the device maps a frame the CPU no longer maps there) in red. A
 * visually hidden list repeats the entries for screen readers and tests.
 *
 * Models no kernel file (the device-side page table of an ODP MR, e.g. an mlx5 mkey's
 * MTT/KSM entries).
 */
import { useEffect, useRef } from "preact/hooks";
import type { SnapshotMr, SnapshotMrEntry } from "../../src/output/runFile.ts";
import { COLORS, MONO, prepareCanvas, useWidth } from "./canvas.ts";
import { hex } from "./model.ts";

const CELL_W = 118;
const CELL_H = 36;
const GAP = 4;

export const ENTRY_COLORS = {
  mapped: "#d1fadf",
  readOnly: "#e0f2fe",
  unmapped: "#eaecf0",
  stale: COLORS.violation,
} as const;

export function DeviceView({ mr }: { readonly mr: SnapshotMr }) {
  const [box, width] = useWidth<HTMLDivElement>();
  const canvas = useRef<HTMLCanvasElement>(null);
  const entries = [...mr.entries].sort((a, b) => a.va - b.va);
  const stale = entries.filter((e) => e.stale).length;

  useEffect(() => {
    const el = canvas.current;
    if (el === null || width === 0) return;
    const perRow = Math.max(1, Math.floor((width - 8) / (CELL_W + GAP)));
    const rows = Math.max(1, Math.ceil(entries.length / perRow));
    const ctx = prepareCanvas(el, width, rows * (CELL_H + GAP) + 6);
    if (ctx === null) return;
    if (entries.length === 0) {
      ctx.fillStyle = COLORS.muted;
      ctx.fillText("no translations", 6, CELL_H / 2);
      return;
    }
    entries.forEach((entry, i) => {
      drawEntry(
        ctx,
        entry,
        4 + (i % perRow) * (CELL_W + GAP),
        3 + Math.floor(i / perRow) * (CELL_H + GAP),
      );
    });
  }, [mr, width]);

  return (
    <div class="mr" ref={box}>
      <h3>
        {mr.name}{" "}
        <span class="dim">
          lkey {hex(mr.lkey)} · {entries.length} entries
        </span>
        {stale > 0 ? <span class="stale-badge">{stale} stale</span> : null}
      </h3>
      <canvas ref={canvas} aria-label={`device view of ${mr.name}`} />
      <ul class="sr-only" data-testid="mr-entries" data-mr={mr.name}>
        {entries.map((e) => (
          <li key={e.va} data-va={e.va} data-pfn={e.pfn ?? ""} data-stale={String(e.stale)}>
            {`${hex(e.va)} → ${hex(e.pfn)} ${e.read ? "r" : "-"}${e.write ? "w" : "-"}${e.stale ? " STALE" : ""}`}
          </li>
        ))}
      </ul>
    </div>
  );
}

function drawEntry(ctx: CanvasRenderingContext2D, e: SnapshotMrEntry, x: number, y: number): void {
  ctx.fillStyle = e.stale
    ? ENTRY_COLORS.stale
    : e.pfn === null
      ? ENTRY_COLORS.unmapped
      : e.write
        ? ENTRY_COLORS.mapped
        : ENTRY_COLORS.readOnly;
  ctx.fillRect(x, y, CELL_W, CELL_H);
  ctx.font = MONO;
  ctx.fillStyle = e.stale ? "#ffffff" : COLORS.text;
  ctx.fillText(hex(e.va), x + 6, y + 11);
  const perms = `${e.read ? "r" : "-"}${e.write ? "w" : "-"}`;
  ctx.fillText(`→ ${hex(e.pfn)} ${perms}${e.stale ? " STALE" : ""}`, x + 6, y + 26);
}
