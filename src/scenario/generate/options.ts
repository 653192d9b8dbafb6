/**
 * What a generated scenario may contain: the operation kinds, designs and fault sites
 * a generator is allowed to use, and the size bounds of one program.
 *
 * Models no kernel file. Swarm testing (Groce et al. 2012; TigerBeetle's simulator)
 * gives each program a random subset of the vocabulary, so that an operation that
 * masks a race (an exit that tears everything down first) is left out of some
 * programs; these options are how a caller or a swarm draw names the subset.
 */
import { FAULT_SITES, type FaultSite } from "../../check/faults.ts";
import { MLX5_ODP_DESIGN_NAMES } from "../../rdma/mlx5/odp/designs.ts";
import { OP_THREAD_KINDS, type OpName } from "../opSpec.ts";

export interface GenerateOptions {
  /** Operation kinds threads may use (signal and wait are always allowed). Default all. */
  readonly ops?: readonly OpName[];
  /** Designs to draw from. Default every design the model implements. */
  readonly designs?: readonly string[];
  /** Fault sites a program may enable. Default none: generated programs inject no faults. */
  readonly faultSites?: readonly FaultSite[];
  /** Most processes with a setup (a forked child comes on top). Default 2. */
  readonly maxProcesses?: number;
  /** Most threads per process. Default 3. */
  readonly maxThreads?: number;
  /** Most operations per thread. Default 6. */
  readonly maxOps?: number;
}

/**
 * Operations of the language the generator never draws: `uverbs_mmap` (IO memory of the
 * uverbs file, for catalog #17 / #18) came after the generator's figures were measured,
 * and any new vocabulary redraws every generated program (docs/fuzzing.md, "What a
 * program is").
 */
export const NOT_GENERATED_OPS: readonly OpName[] = ["uverbs_mmap"];

/** Every operation kind the generator draws from, in opSpec.ts's order. */
export const ALL_OP_NAMES: readonly OpName[] = (Object.keys(OP_THREAD_KINDS) as OpName[]).filter(
  (name) => !NOT_GENERATED_OPS.includes(name),
);

/** Every fault site a scenario's `faults` may name. */
export const ALL_FAULT_SITES: readonly FaultSite[] = FAULT_SITES;

export interface ResolvedGenerateOptions {
  readonly ops: ReadonlySet<OpName>;
  readonly designs: readonly string[];
  readonly faultSites: readonly FaultSite[];
  readonly maxProcesses: number;
  readonly maxThreads: number;
  readonly maxOps: number;
}

/** The options with their defaults filled in; throws RangeError on an empty design list. */
export function resolveGenerateOptions(o: GenerateOptions = {}): ResolvedGenerateOptions {
  const designs = o.designs ?? MLX5_ODP_DESIGN_NAMES;
  if (designs.length === 0) throw new RangeError("generate: designs must not be empty");
  return {
    ops: new Set(o.ops ?? ALL_OP_NAMES),
    designs,
    faultSites: o.faultSites ?? [],
    maxProcesses: Math.max(1, o.maxProcesses ?? 2),
    maxThreads: Math.max(1, o.maxThreads ?? 3),
    maxOps: Math.max(1, o.maxOps ?? 6),
  };
}
