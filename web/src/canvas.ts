/**
 * Canvas plumbing shared by the viewer's drawings: a crisp canvas at the device's pixel
 * ratio, and the width of the element a drawing fills.
 *
 * Models no kernel file.
 */
import type { RefObject } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

/** Sizes `canvas` to `width` x `height` CSS pixels and returns a context in CSS pixels. */
export function prepareCanvas(
  canvas: HTMLCanvasElement,
  width: number,
  height: number,
): CanvasRenderingContext2D | null {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.max(1, Math.round(width * ratio));
  canvas.height = Math.max(1, Math.round(height * ratio));
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext("2d");
  if (ctx === null) return null;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = FONT;
  ctx.textBaseline = "middle";
  return ctx;
}

export const FONT = "12px system-ui, -apple-system, 'Segoe UI', sans-serif";
export const MONO = "11px ui-monospace, 'DejaVu Sans Mono', monospace";

/** The element's content width, kept up to date as it resizes. */
export function useWidth<T extends HTMLElement>(): [RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (el === null) return;
    const observer = new ResizeObserver(() => {
      setWidth(Math.floor(el.clientWidth));
    });
    observer.observe(el);
    setWidth(Math.floor(el.clientWidth));
    return () => {
      observer.disconnect();
    };
  }, []);
  return [ref, width];
}

/** Colours per task-group kind, and for the states the views draw. */
export const COLORS = {
  host: "#6574cd",
  process: "#2f9e77",
  device: "#d9822b",
  other: "#8a8f98",
  violation: "#d92d20",
  cursor: "#1d4ed8",
  grid: "#e6e8eb",
  text: "#1f2328",
  muted: "#667085",
  groupBand: "#f2f4f7",
  /** Behind the causal slice's steps. */
  slice: "rgba(250, 204, 21, 0.38)",
  /** A folded range of steps. */
  band: "#e9ebef",
} as const;

export function groupColor(kind: string): string {
  return kind === "host" || kind === "process" || kind === "device" ? COLORS[kind] : COLORS.other;
}
