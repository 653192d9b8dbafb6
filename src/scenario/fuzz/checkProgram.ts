/**
 * Drawing one program from a seed, judging it, and shrinking it while it fails the same
 * way: fast-check's generate-and-shrink, with our own notion of "the same failure".
 *
 * Models no kernel file. Program i of a campaign with seed X is run 0 of
 * `fc.check(property, { seed: seedFor(X, i), numRuns: 1 })`, so it depends on X and i
 * only, never on which worker draws it or on what was drawn before. The first call of
 * the judge fixes the failure's key (an internal error's first line, a violation's kind
 * and place); a shrink candidate is kept only when it fails with the same key. The
 * shrink budget is a count of candidates, so the result never depends on the clock.
 */
import fc from "fast-check";

/** A judge's verdict: null passes, a string is the failure's key. */
export type Judge<T> = (value: T) => string | null;

export interface CheckedProgram<T> {
  /** The drawn value. */
  readonly original: T;
  /** The failure's key, or null when the draw passed. */
  readonly key: string | null;
  /** The smallest failing value found (the original when it passed or shrinking found nothing). */
  readonly shrunk: T;
  /** Shrink candidates judged. */
  readonly shrinkRuns: number;
}

/**
 * Draws run 0 of `seed`, judges it, and shrinks a failure by at most `maxShrinks`
 * candidates, unless `alreadyShrunk(key)` says a failure with that key needs no more.
 */
export function checkProgram<T>(
  arb: fc.Arbitrary<T>,
  seed: number,
  judge: Judge<T>,
  maxShrinks: number,
  alreadyShrunk: (key: string) => boolean = () => false,
): CheckedProgram<T> {
  const st: { first: { value: T; key: string | null } | null; shrunk: T | null; runs: number } = {
    first: null,
    shrunk: null,
    runs: 0,
  };
  const property = fc.property(arb, (value) => {
    if (st.first === null) {
      st.first = { value, key: judge(value) };
      if (st.first.key !== null) st.shrunk = value;
      return st.first.key === null || alreadyShrunk(st.first.key);
    }
    if (st.runs >= maxShrinks) return true;
    st.runs++;
    const same = judge(value) === st.first.key;
    if (same) st.shrunk = value;
    return !same;
  });
  fc.check(property, { seed, numRuns: 1 });
  const drawn = st.first;
  if (drawn === null) throw new Error("checkProgram: fast-check drew no value");
  return {
    original: drawn.value,
    key: drawn.key,
    shrunk: st.shrunk ?? drawn.value,
    shrinkRuns: st.runs,
  };
}
