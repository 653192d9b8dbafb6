/**
 * The mlx5 ODP designs by name, the one registry scenarios, programs and the command line
 * look them up in, and the default design.
 *
 * Models no kernel file: each generation of the interlock (classic v5.3, the 2019
 * HMM-mirror posting, interval v5.5+) is its own module; this only names them.
 */
import type { Kernel } from "../../../sim/kernel.ts";
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

export function isMlx5OdpDesignName(name: string): name is OdpDesignName {
  return Object.hasOwn(MLX5_ODP_DESIGNS, name);
}

/** What is wrong with a design name, as one line; null for a known design. */
export function mlx5OdpDesignProblem(name: string): string | null {
  return isMlx5OdpDesignName(name) ? null : unknownDesign(name);
}

/** The design named `name` (default DEFAULT_MLX5_ODP_DESIGN); an unknown name throws. */
export function mlx5OdpDesign(name: string = DEFAULT_MLX5_ODP_DESIGN): Mlx5OdpDesign {
  if (isMlx5OdpDesignName(name)) return MLX5_ODP_DESIGNS[name];
  throw new Error(unknownDesign(name));
}

/** The design named `name`, with `k` put in its era: how a host builder starts. */
export function setupMlx5OdpDesign(k: Kernel, name?: string): Mlx5OdpDesign {
  const design = mlx5OdpDesign(name);
  design.kernelSetup(k);
  return design;
}

function unknownDesign(name: string): string {
  return `unknown mlx5 ODP design "${name}"; known: ${MLX5_ODP_DESIGN_NAMES.join(", ")}`;
}
