/**
 * A process's address space at the cursor: each VMA a band, each page in it a cell
 * coloured by whether it is present, writable and dirty, with its frame number.
 *
 * Models no kernel file (what /proc/PID/maps plus the page table would show).
 */
import { useEffect, useMemo, useRef } from "preact/hooks";
import type { SnapshotPage, SnapshotProcess } from "../../src/output/runFile.ts";
import { COLORS, MONO, prepareCanvas, useWidth } from "./canvas.ts";
import { hex, pageSlot, PAGE_SIZE } from "./model.ts";

const HEADER_H = 18;
const CELL = 46;
const CELL_H = 30;
const GAP = 3;
const MAX_SLOTS = 256;

export const PAGE_COLORS = {
  absent: "#eaecf0",
  readOnly: "#9ec5fe",
  writable: "#2f6fdf",
  dirty: "#f79009",
} as const;

interface Band {
  readonly title: string;
  readonly cells: readonly { slot: number; page: SnapshotPage | null; va: number }[];
}

export function AddressSpace({ process }: { readonly process: SnapshotProcess }) {
  const [box, width] = useWidth<HTMLDivElement>();
  const canvas = useRef<HTMLCanvasElement>(null);
  const bands = useMemo(() => bandsOf(process), [process]);

  useEffect(() => {
    const el = canvas.current;
    if (el === null || width === 0) return;
    const perRow = Math.max(1, Math.floor((width - 8) / (CELL + GAP)));
    const rowsOf = (b: Band) => Math.max(1, Math.ceil(b.cells.length / perRow));
    const height = bands.reduce((h, b) => h + HEADER_H + rowsOf(b) * (CELL_H + GAP) + 8, 4);
    const ctx = prepareCanvas(el, width, height);
    if (ctx === null) return;
    let y = 2;
    for (const band of bands) {
      ctx.fillStyle = COLORS.muted;
      ctx.font = MONO;
      ctx.fillText(band.title, 4, y + HEADER_H / 2);
      y += HEADER_H;
      const rows = rowsOf(band);
      ctx.fillStyle = COLORS.groupBand;
      ctx.fillRect(0, y - 2, width, rows * (CELL_H + GAP) + 2);
      band.cells.forEach((cell, i) => {
        const cx = 4 + (i % perRow) * (CELL + GAP);
        const cy = y + Math.floor(i / perRow) * (CELL_H + GAP);
        drawPage(ctx, cell.page, cx, cy);
      });
      y += rows * (CELL_H + GAP) + 8;
    }
  }, [process, width, bands]);

  return (
    <div class="space" ref={box}>
      <canvas ref={canvas} aria-label={`address space of pid ${process.pid}`} />
      <ul class="sr-only" data-testid="pages" data-pid={process.pid}>
        {process.pages.map((p) => (
          <li
            key={p.va}
            data-va={p.va}
            data-present={String(p.present)}
            data-writable={String(p.writable)}
            data-dirty={String(p.dirty)}
          >
            {`${hex(p.va)} → ${hex(p.pfn)}${p.present ? "" : " (not present)"}${p.writable ? " writable" : ""}${p.dirty ? " dirty" : ""}`}
          </li>
        ))}
      </ul>
    </div>
  );
}

function drawPage(
  ctx: CanvasRenderingContext2D,
  page: SnapshotPage | null,
  x: number,
  y: number,
): void {
  const present = page?.present === true;
  ctx.fillStyle = !present
    ? PAGE_COLORS.absent
    : page.writable
      ? PAGE_COLORS.writable
      : PAGE_COLORS.readOnly;
  ctx.fillRect(x, y, CELL, CELL_H);
  if (page?.dirty === true) {
    ctx.fillStyle = PAGE_COLORS.dirty;
    ctx.fillRect(x, y, CELL, 4);
  }
  ctx.font = MONO;
  ctx.fillStyle = present && page.writable ? "#ffffff" : COLORS.text;
  ctx.textAlign = "center";
  ctx.fillText(present ? hex(page.pfn) : "·", x + CELL / 2, y + CELL_H / 2 + 1);
  ctx.textAlign = "start";
}

/** Pages per VMA, in slot order when the VMA is short enough, listed otherwise. */
function bandsOf(process: SnapshotProcess): Band[] {
  const byVma = process.vmas.map((vma) => {
    const pages = process.pages.filter((p) => p.va >= vma.start && p.va < vma.end);
    const title = `${hex(vma.start)}–${hex(vma.end)}  ${vma.flags.join(" ")}`;
    const slots = pageSlot(vma.start, vma.end, vma.start, MAX_SLOTS) === 0;
    if (!slots) {
      return { title, cells: pages.map((page, slot) => ({ slot, page, va: page.va })) };
    }
    const count = Math.ceil((vma.end - vma.start) / PAGE_SIZE);
    const bySlot = new Map(pages.map((p) => [pageSlot(vma.start, vma.end, p.va, MAX_SLOTS), p]));
    const cells = Array.from({ length: count }, (_, slot) => ({
      slot,
      page: bySlot.get(slot) ?? null,
      va: vma.start + slot * PAGE_SIZE,
    }));
    return { title, cells };
  });
  const outside = process.pages.filter(
    (p) => !process.vmas.some((v) => p.va >= v.start && p.va < v.end),
  );
  if (outside.length > 0) {
    byVma.push({
      title: "outside any VMA",
      cells: outside.map((page, slot) => ({ slot, page, va: page.va })),
    });
  }
  return byVma;
}
