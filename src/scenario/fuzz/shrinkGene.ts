/**
 * Shrinking a program's genes without fast-check's shrink tree: for a mutant, which no
 * generator drew (feedback.ts), so fast-check cannot shrink it.
 *
 * Models no kernel file. Greedy, coarse first: drop a process, the fork child, a thread,
 * a buffer, a registration, an operation, the QP or the mirror, an operation kind or a
 * fault site of the swarm draw; then set arguments to 0 and buffers to one page. Each
 * candidate that fails with the same key is kept and the walk starts again from it;
 * the budget is a count of candidates, so the result never depends on the clock. Lists
 * keep the lengths genes.ts allows (mutate.ts), so every candidate decodes.
 */
import type { ProgramGene } from "../generate/programGene.ts";
import type { CheckedProgram, Judge } from "./checkProgram.ts";

type Gene = ProgramGene;

function without<T>(list: readonly T[], i: number): T[] {
  return list.filter((_, j) => j !== i);
}

function withAt<T>(list: readonly T[], i: number, value: T): T[] {
  return list.map((x, j) => (j === i ? value : x));
}

/** Genes one step smaller than `g`, coarse ones first. */
function* smaller(g: Gene): Generator<Gene> {
  const s = g.scenario;
  for (let i = 0; s.processes.length > 1 && i < s.processes.length; i++) {
    yield { ...g, scenario: { ...s, processes: without(s.processes, i) } };
  }
  if (s.child !== null) yield { ...g, scenario: { ...s, child: null } };
  for (const [pi, p] of s.processes.entries()) {
    const put = (q: typeof p): Gene => ({
      ...g,
      scenario: { ...s, processes: withAt(s.processes, pi, q) },
    });
    for (let t = 0; p.threads.length > 1 && t < p.threads.length; t++) {
      yield put({ ...p, threads: without(p.threads, t) });
    }
    for (let b = 0; p.buffers.length > 1 && b < p.buffers.length; b++) {
      yield put({ ...p, buffers: without(p.buffers, b) });
    }
    for (let r = 0; r < p.registrations.length; r++) {
      yield put({ ...p, registrations: without(p.registrations, r) });
    }
    for (const [t, thread] of p.threads.entries()) {
      for (let o = 0; thread.ops.length > 1 && o < thread.ops.length; o++) {
        yield put({
          ...p,
          threads: withAt(p.threads, t, { ...thread, ops: without(thread.ops, o) }),
        });
      }
    }
    if (p.qp) yield put({ ...p, qp: false });
    if (p.mirror) yield put({ ...p, mirror: false });
  }
  for (let i = 0; i < g.faultSites.length; i++) {
    yield {
      ...g,
      faultSites: without(g.faultSites, i),
      scenario: { ...s, faults: without(s.faults, i) },
    };
  }
  for (let i = 0; i < g.ops.length; i++) yield { ...g, ops: without(g.ops, i) };
  yield* zeroed(g);
}

/** Arguments set to 0 and buffers to one page, one at a time. */
function* zeroed(g: Gene): Generator<Gene> {
  const s = g.scenario;
  for (const [pi, p] of s.processes.entries()) {
    const put = (q: typeof p): Gene => ({
      ...g,
      scenario: { ...s, processes: withAt(s.processes, pi, q) },
    });
    for (const [b, buf] of p.buffers.entries()) {
      if (buf.pages > 1) yield put({ ...p, buffers: withAt(p.buffers, b, { ...buf, pages: 1 }) });
    }
    for (const [t, thread] of p.threads.entries()) {
      for (const [o, op] of thread.ops.entries()) {
        for (const field of ["a", "b", "c"] as const) {
          if (op[field] === 0) continue;
          const ops = withAt(thread.ops, o, { ...op, [field]: 0 });
          yield put({ ...p, threads: withAt(p.threads, t, { ...thread, ops }) });
        }
      }
    }
  }
}

/** The smallest genes found that fail like `g` (`key`), within `maxShrinks` candidates. */
export function shrinkGene(
  g: Gene,
  key: string,
  judge: Judge<Gene>,
  maxShrinks: number,
): Pick<CheckedProgram<Gene>, "shrunk" | "shrinkRuns"> {
  let current = g;
  let runs = 0;
  for (let progress = true; progress && runs < maxShrinks;) {
    progress = false;
    for (const candidate of smaller(current)) {
      if (runs >= maxShrinks) break;
      runs++;
      if (judge(candidate) === key) {
        current = candidate;
        progress = true;
        break;
      }
    }
  }
  return { shrunk: current, shrinkRuns: runs };
}
