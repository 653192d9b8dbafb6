/**
 * Bytes in scenarios: what a write stores, what a check expects, how a mismatch reads.
 *
 * Models no kernel file.
 */

export interface ByteSpec {
  readonly bytes?: number | undefined;
  readonly pattern?: number | undefined;
  readonly text?: string | undefined;
  readonly hex?: string | undefined;
}

/** The bytes `spec` stands for; `length` is used for a pattern without `bytes`. */
export function specBytes(spec: ByteSpec, length?: number): Uint8Array {
  if (spec.text !== undefined) return new TextEncoder().encode(spec.text);
  if (spec.hex !== undefined) {
    const digits = spec.hex.replace(/\s+/g, "");
    const out = new Uint8Array(digits.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
    return out;
  }
  const n = spec.bytes ?? length;
  if (spec.pattern === undefined || n === undefined) throw new Error("no bytes in this spec");
  return new Uint8Array(n).fill(spec.pattern);
}

/** Whether `spec` names any bytes at all (an expect may only name a signal). */
export function hasBytes(spec: ByteSpec): boolean {
  return spec.pattern !== undefined || spec.text !== undefined || spec.hex !== undefined;
}

/** The first differing index, or -1. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Up to 16 bytes in hex, for messages. */
export function hexBytes(data: Uint8Array): string {
  const shown = [...data.subarray(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  return data.length > 16 ? `${shown} … (${data.length} bytes)` : shown;
}

/** A short description of expected bytes: "0xa0 x64", or hex. */
export function describeSpec(spec: ByteSpec, data: Uint8Array): string {
  if (spec.pattern !== undefined) return `0x${spec.pattern.toString(16)} x${data.length}`;
  if (spec.text !== undefined) return JSON.stringify(spec.text);
  return hexBytes(data);
}

/** A mismatch message, or null when `got` equals `want`. */
export function compareBytes(spec: ByteSpec, want: Uint8Array, got: Uint8Array): string | null {
  const at = firstDifference(want, got);
  if (at < 0) return null;
  return `expected ${describeSpec(spec, want)}, got ${hexBytes(got)} (first difference at byte ${at})`;
}
