/**
 * The seeded pseudo-random generator behind every choice a run makes.
 *
 * Models no kernel file: it is odpsim's own. sfc32 (Chris Doty-Humphrey's small fast
 * counting generator) seeded through splitmix32, all in 32-bit integer arithmetic so a
 * seed produces the same stream on every engine and in every version. The golden values
 * in test/sim/rng.test.ts pin that stream: changing this file changes what every
 * recorded seed means.
 */

const TWO_POW_32 = 4294967296;

function splitmix32(state: number): [next: number, out: number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

/** A deterministic 32-bit generator; `fork` derives independent child streams. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private counter: number;

  /** `seed` is any safe integer (negative and > 2^32 allowed). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`Prng seed must be a safe integer, got ${String(seed)}`);
    }
    const low = seed | 0;
    const high = Math.floor(seed / TWO_POW_32) | 0;
    let state = low ^ Math.imul(high, 0x27d4eb2d);
    let out: number;
    [state, out] = splitmix32(state);
    this.a = out;
    [state, out] = splitmix32(state);
    this.b = out;
    [, out] = splitmix32(state);
    this.c = out;
    this.counter = 1;
    // The first outputs of sfc32 are poorly mixed; discard them as its author advises.
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.counter) | 0;
    this.counter = (this.counter + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform integer in [0, n), n in [1, 2^32]; unbiased by rejection. */
  nextInt(n: number): number {
    if (!(n >= 1 && n <= TWO_POW_32 && Number.isInteger(n))) {
      throw new RangeError(`Prng.nextInt bound must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let r = this.nextU32();
    while (r >= limit) r = this.nextU32();
    return r % n;
  }

  /** A uniform float in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / TWO_POW_32;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.nextFloat() < p;
  }

  /** A generator whose stream depends only on this one's state and `salt`. */
  fork(salt: number): Prng {
    return new Prng((this.nextU32() ^ Math.imul(salt | 0, 0x9e3779b1)) >>> 0);
  }
}
