/**
 * Mutations of a program's genes, for the coverage-guided strategy (feedback.ts): splice
 * a thread from another program, insert, drop or swap operations, change an operation's
 * kind or arguments, a buffer's size, a thread's kind or repeat count, and switch swarm
 * features (operation kinds, fault sites) on or off.
 *
 * Models no kernel file. Genes decode to a valid scenario whatever their numbers are
 * (generate/decode.ts reduces every index modulo what exists), so a mutant stays valid
 * as long as its lists keep the lengths genes.ts allows: at least one process, buffer,
 * thread and operation; one fault flag per fault site. Sizes stay within the
 * generator's bounds (`maxThreads`, `maxOps`, 1 to 8 pages) and the swarm's vocabulary
 * (the operation kinds and fault sites `odpsim fuzz --op/--fault` allow), so mutants
 * are programs the blind generator could have drawn.
 */
import type { FaultSite } from "../../check/faults.ts";
import type { OpName } from "../opSpec.ts";
import type { BufferGene, OpGene, ThreadGene } from "../generate/genes.ts";
import type { ProgramGene } from "../generate/programGene.ts";
import type { Prng } from "../../sim/rng.ts";

type Mutable<T> = T extends readonly (infer U)[]
  ? Mutable<U>[]
  : T extends object
    ? { -readonly [K in keyof T]: Mutable<T[K]> }
    : T;
type Gene = Mutable<ProgramGene>;
type Thread = Mutable<ThreadGene>;

/** The generator's bounds and swarm vocabulary a mutant keeps to. */
export interface MutationBounds {
  readonly maxThreads: number;
  readonly maxOps: number;
  /** The operation kinds a toggle may switch on (the swarm's, not the whole language). */
  readonly opNames: readonly OpName[];
  /** The fault sites a toggle may switch on. */
  readonly faultSites: readonly FaultSite[];
}

function pickOf<T>(rng: Prng, list: readonly T[]): T | undefined {
  return list.length === 0 ? undefined : list[rng.nextInt(list.length)];
}

function threadsOf(g: Gene): Thread[][] {
  const lists = g.scenario.processes.map((p) => p.threads);
  return g.scenario.child === null ? lists : [...lists, g.scenario.child];
}

function allThreads(g: Gene): Thread[] {
  return threadsOf(g).flat();
}

/** An operation gene drawn as genes.ts draws one. */
function freshOp(rng: Prng): OpGene {
  return {
    pick: rng.nextInt(1001),
    a: rng.nextInt(1 << 16),
    b: rng.nextInt(1 << 16),
    c: rng.nextInt(1 << 16),
    d: rng.nextInt(256),
    flag: rng.chance(0.5),
  };
}

/** A thread of the donor replaces one of `g`'s, or joins a process with room. */
function spliceThread(g: Gene, rng: Prng, donor: ProgramGene, b: MutationBounds): boolean {
  const thread = pickOf(rng, allThreads(structuredClone(donor) as Gene));
  const list = pickOf(rng, threadsOf(g));
  if (thread === undefined || list === undefined) return false;
  if (list.length < b.maxThreads && rng.chance(0.5)) list.push(thread);
  else list[rng.nextInt(list.length)] = thread;
  return true;
}

function insertOp(g: Gene, rng: Prng, donor: ProgramGene, b: MutationBounds): boolean {
  const thread = pickOf(rng, allThreads(g));
  if (thread === undefined || thread.ops.length >= b.maxOps) return false;
  const copied = pickOf(
    rng,
    allThreads(donor as Gene).flatMap((t) => t.ops),
  );
  const op = copied !== undefined && rng.chance(0.5) ? { ...copied } : freshOp(rng);
  thread.ops.splice(rng.nextInt(thread.ops.length + 1), 0, op);
  return true;
}

/** A thread with more than one operation, so dropping or swapping leaves it whole. */
function threadOfSeveralOps(g: Gene, rng: Prng) {
  return pickOf(
    rng,
    allThreads(g).filter((t) => t.ops.length > 1),
  );
}

function dropOp(g: Gene, rng: Prng): boolean {
  const thread = threadOfSeveralOps(g, rng);
  if (thread === undefined) return false;
  thread.ops.splice(rng.nextInt(thread.ops.length), 1);
  return true;
}

function swapOps(g: Gene, rng: Prng): boolean {
  const thread = threadOfSeveralOps(g, rng);
  if (thread === undefined) return false;
  const i = rng.nextInt(thread.ops.length);
  const j = rng.nextInt(thread.ops.length);
  const [x, y] = [thread.ops[i], thread.ops[j]];
  if (x === undefined || y === undefined || i === j) return false;
  thread.ops[i] = y;
  thread.ops[j] = x;
  return true;
}

/** A new value for one argument: random, an edge (0, the last), or a page away. */
function nudge(rng: Prng, value: number, max: number): number {
  switch (rng.nextInt(4)) {
    case 0:
      return 0;
    case 1:
      return max;
    case 2:
      return Math.min(max, Math.max(0, value + (rng.chance(0.5) ? 4096 : -4096)));
    default:
      return rng.nextInt(max + 1);
  }
}

function changeOpArgs(g: Gene, rng: Prng): boolean {
  const op = pickOf(
    rng,
    allThreads(g).flatMap((t) => t.ops),
  );
  if (op === undefined) return false;
  const field = (["a", "b", "c", "d", "flag"] as const)[rng.nextInt(5)];
  if (field === "flag") op.flag = !op.flag;
  else if (field === "d") op.d = rng.nextInt(256);
  else if (field !== undefined) op[field] = nudge(rng, op[field], (1 << 16) - 1);
  return true;
}

function changeOpKind(g: Gene, rng: Prng): boolean {
  const op = pickOf(
    rng,
    allThreads(g).flatMap((t) => t.ops),
  );
  if (op === undefined) return false;
  op.pick = rng.nextInt(1001);
  return true;
}

function changeBufferSize(g: Gene, rng: Prng): boolean {
  const buf: Mutable<BufferGene> | undefined = pickOf(
    rng,
    g.scenario.processes.flatMap((p) => p.buffers),
  );
  if (buf === undefined) return false;
  buf.pages = 1 + rng.nextInt(8);
  return true;
}

function changeThread(g: Gene, rng: Prng): boolean {
  const thread = pickOf(rng, allThreads(g));
  if (thread === undefined) return false;
  if (rng.chance(0.5)) thread.kind = rng.nextInt(3);
  else thread.repeat = 1 + rng.nextInt(3);
  return true;
}

/** Switches one operation kind of the vocabulary on or off for this program. */
function toggleOpKind(g: Gene, rng: Prng, _donor: ProgramGene, b: MutationBounds): boolean {
  const name = pickOf(rng, b.opNames);
  if (name === undefined) return false;
  g.ops = g.ops.includes(name) ? g.ops.filter((n) => n !== name) : [...g.ops, name];
  return true;
}

/** Switches one fault site on or off, its flag in the scenario genes with it. */
function toggleFaultSite(g: Gene, rng: Prng, _donor: ProgramGene, b: MutationBounds): boolean {
  const site = pickOf(rng, b.faultSites);
  if (site === undefined) return false;
  const at = g.faultSites.indexOf(site);
  if (at >= 0) {
    g.faultSites = g.faultSites.filter((_, i) => i !== at);
    g.scenario.faults = g.scenario.faults.filter((_, i) => i !== at);
  } else {
    g.faultSites = [...g.faultSites, site];
    g.scenario.faults = [...g.scenario.faults, true];
  }
  return true;
}

const MUTATIONS = [
  spliceThread,
  insertOp,
  dropOp,
  swapOps,
  changeOpArgs,
  changeOpKind,
  changeBufferSize,
  changeThread,
  toggleOpKind,
  toggleFaultSite,
] as const;

/** `parent` with one to three mutations, a thread or an operation taken from `donor`. */
export function mutateProgram(
  parent: ProgramGene,
  donor: ProgramGene,
  rng: Prng,
  bounds: MutationBounds,
): ProgramGene {
  const g = structuredClone(parent) as Gene;
  const count = 1 + rng.nextInt(3);
  for (let done = 0, tries = 0; done < count && tries < 4 * count; tries++) {
    const mutation = MUTATIONS[rng.nextInt(MUTATIONS.length)];
    if (mutation?.(g, rng, donor, bounds) === true) done++;
  }
  return g;
}
