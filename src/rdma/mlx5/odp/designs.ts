/**
 * The mlx5 ODP designs by name, the one registry scenarios, programs and the command line
 * look them up in, and the default design. Besides the built-in generations it holds the
 * designs a user plugs in (`--design ./my-design.ts`), registered for the run under a
 * name of their own, with the defect ids they declare and a hash of their source.
 *
 * Models no kernel file: each generation of the interlock (classic v5.3, the 2019
 * HMM-mirror posting, interval v5.5+) is its own module; this only names them.
 */
import { KernelGlobal, type Kernel } from "../../../sim/kernel.ts";
import { ODP_DESIGN_NAMES, type OdpDesignName } from "../../core/odp/umemOdpDesign.ts";
import { classicMlx5Odp } from "./classicOdp.ts";
import { hmmMirrorMlx5Odp } from "./hmmMirrorOdp.ts";
import { intervalMlx5Odp } from "./intervalOdp.ts";
import type { Mlx5OdpDesign } from "./mlx5OdpDesign.ts";

export const MLX5_ODP_DESIGNS: Readonly<Record<OdpDesignName, Mlx5OdpDesign>> = {
  classic: classicMlx5Odp,
  "hmm-mirror": hmmMirrorMlx5Odp,
  interval: intervalMlx5Odp,
};

/** The names, oldest generation first (a tuple, for schema enums). */
export const MLX5_ODP_DESIGN_NAMES = ODP_DESIGN_NAMES;

/** The design a scenario, program or command runs when it names none. */
export const DEFAULT_MLX5_ODP_DESIGN: OdpDesignName = "classic";

/** A user's design, as registered. */
export interface UserMlx5OdpDesign {
  readonly design: Mlx5OdpDesign;
  /** The defect ids the design's code asks `k.hasDefect()` about. */
  readonly defects: readonly string[];
  /** A hash of the module's source, recorded in replay tokens; null if it has none. */
  readonly sourceHash: string | null;
}

/**
 * The names a user's design may be registered under: the path of its module, as the
 * user named it (`--design ./my-design.ts`), which a scenario file's `design:` may hold.
 */
export const DESIGN_MODULE_PATTERN = /\.(ts|mts|js|mjs)$/i;

/** Whether `name` is the path of a design module rather than a built-in design. */
export function isDesignModulePath(name: string): boolean {
  return DESIGN_MODULE_PATTERN.test(name);
}

/** Per thread (a worker thread registers the module again); filled before any run. */
const userDesigns = new Map<string, UserMlx5OdpDesign>();

/** A built-in generation's name (not a user's design). */
export function isMlx5OdpDesignName(name: string): name is OdpDesignName {
  return Object.hasOwn(MLX5_ODP_DESIGNS, name);
}

/**
 * Registers a user's design under `name` (a built-in name is refused); registering the
 * same name again replaces it, as a module loaded again does.
 */
export function registerMlx5OdpDesign(name: string, user: UserMlx5OdpDesign): void {
  if (isMlx5OdpDesignName(name)) throw new Error(`design "${name}" is built in`);
  userDesigns.set(name, user);
}

/** The user's design registered under `name`, or undefined. */
export function userMlx5OdpDesign(name: string): UserMlx5OdpDesign | undefined {
  return userDesigns.get(name);
}

/** Every design a run may name: the built-in ones, then the registered ones. */
export function mlx5OdpDesignNames(): string[] {
  return [...MLX5_ODP_DESIGN_NAMES, ...userDesigns.keys()];
}

/** What is wrong with a design name, as one line; null for a known design. */
export function mlx5OdpDesignProblem(name: string): string | null {
  return isMlx5OdpDesignName(name) || userDesigns.has(name) ? null : unknownDesign(name);
}

/** The design named `name` (default DEFAULT_MLX5_ODP_DESIGN); an unknown name throws. */
export function mlx5OdpDesign(name: string = DEFAULT_MLX5_ODP_DESIGN): Mlx5OdpDesign {
  if (isMlx5OdpDesignName(name)) return MLX5_ODP_DESIGNS[name];
  const user = userDesigns.get(name);
  if (user !== undefined) return user.design;
  throw new Error(unknownDesign(name));
}

/** The names of the designs a kernel's mlx5 devices were set up with, in order. */
const DESIGNS_SET_UP = new KernelGlobal<string[]>("mlx5 ODP designs set up", () => []);

/** The design named `name`, with `k` put in its era: how a host builder starts. */
export function setupMlx5OdpDesign(
  k: Kernel,
  name: string = DEFAULT_MLX5_ODP_DESIGN,
): Mlx5OdpDesign {
  const design = mlx5OdpDesign(name);
  design.kernelSetup(k);
  k.global(DESIGNS_SET_UP).push(name);
  return design;
}

/**
 * The designs `k`'s mlx5 devices were set up with (none: the scenario built no mlx5
 * host): how a check tells a scenario that runs a design from one that ignores it.
 */
export function mlx5OdpDesignsSetUp(k: Kernel): readonly string[] {
  return k.global(DESIGNS_SET_UP);
}

function unknownDesign(name: string): string {
  if (isDesignModulePath(name)) {
    return `design module "${name}" is not loaded; give --design ${name}`;
  }
  return `unknown mlx5 ODP design "${name}"; known: ${mlx5OdpDesignNames().join(", ")}`;
}
