/**
 * The seed of schedule i of a search with base seed S.
 *
 * Models no kernel file. Each index's seed mixes S and i through a 64-bit-style
 * finaliser (two rounds of murmur3's fmix32 over both words of each), so searches with
 * different base seeds share no schedules: with `S + i`, `--seed 1` reran all but one of
 * `--seed 0`'s. The result is a safe integer below 2^53 that `odpsim run --seed` accepts,
 * so a failing index is rerun alone from the seed the search printed. Golden values in
 * test/check/seedFor.test.ts pin the mapping: changing it changes what every recorded
 * index means.
 */

const TWO_POW_32 = 4294967296;
const HIGH_BITS = 0x1fffff; // 21 bits: with 32 low bits, below 2^53

function fmix32(h: number): number {
  let x = h >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

function low32(n: number): number {
  return n >>> 0;
}

function high32(n: number): number {
  return Math.floor(n / TWO_POW_32) >>> 0;
}

/** A mixed seed for index `index` (>= 0) of a search with base seed `base` (>= 0). */
export function seedFor(base: number, index: number): number {
  if (!Number.isSafeInteger(base) || base < 0 || !Number.isSafeInteger(index) || index < 0) {
    throw new RangeError(`seedFor needs safe integers >= 0, got ${base}, ${index}`);
  }
  let a = fmix32(low32(base) ^ 0x9e3779b9);
  a = fmix32(a ^ high32(base));
  let b = fmix32((low32(index) + 0x7f4a7c15) ^ a);
  b = fmix32(b ^ high32(index));
  const high = fmix32(a ^ Math.imul(b, 0x27d4eb2d)) & HIGH_BITS;
  return high * TWO_POW_32 + fmix32(b ^ 0x165667b1);
}
