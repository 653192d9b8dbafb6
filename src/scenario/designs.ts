/**
 * The designs a scenario file's `design:` may name: an mlx5 ODP design (the interlock
 * generations, or a user's design module) or a uverbs mmap design (how uverbs tracks
 * the VMAs that map a device's IO memory, src/rdma/core/uverbs/designs.ts).
 *
 * Models no kernel file. A run has one of each, and one kernel era: an mlx5 design
 * keeps the uverbs mmap design every scenario ran before files could map IO memory (the
 * mmap-entry one) in its own era (its fork order); a uverbs design runs with the mlx5
 * design of its era and sets the era itself — seed 004 (v4.20) with classic (v5.3, the
 * oldest generation modelled; both fork in the order before v6.9), the mmap-entry
 * design with interval (today's kernel, v6.9's fork order). The two name sets do not
 * overlap, so every name a file could give before means what it meant.
 */
import {
  isUverbsMmapDesignName,
  UVERBS_MMAP_DESIGN_NAMES,
  type UverbsMmapDesignName,
} from "../rdma/core/uverbs/designs.ts";
import type { OdpDesignName } from "../rdma/core/odp/umemOdpDesign.ts";
import {
  isDesignModulePath,
  MLX5_ODP_DESIGN_NAMES,
  mlx5OdpDesignNames,
  mlx5OdpDesignProblem,
} from "../rdma/mlx5/odp/designs.ts";

/** The mlx5 ODP design of each uverbs mmap design's era. */
export const UVERBS_DESIGN_MLX5: Readonly<Record<UverbsMmapDesignName, OdpDesignName>> = {
  seed: "classic",
  entry: "interval",
};

/** The uverbs mmap design a run under an mlx5 ODP design has. */
export const DEFAULT_UVERBS_MMAP_DESIGN: UverbsMmapDesignName = "entry";

/** Every built-in name `design:` takes: the mlx5 ODP designs, then the uverbs ones. */
export const SCENARIO_DESIGN_NAMES = [...MLX5_ODP_DESIGN_NAMES, ...UVERBS_MMAP_DESIGN_NAMES];

/** What a run under `name` has of each layer. */
export interface ScenarioDesigns {
  /** The mlx5 ODP design (a built-in name or a registered module's). */
  readonly mlx5: string;
  /** The uverbs mmap design. */
  readonly uverbs: UverbsMmapDesignName;
  /** Whether the uverbs design sets the kernel's era (it was the one named). */
  readonly uverbsEra: boolean;
}

export function scenarioDesigns(name: string): ScenarioDesigns {
  if (isUverbsMmapDesignName(name)) {
    return { mlx5: UVERBS_DESIGN_MLX5[name], uverbs: name, uverbsEra: true };
  }
  return { mlx5: name, uverbs: DEFAULT_UVERBS_MMAP_DESIGN, uverbsEra: false };
}

/** Every design a run of a file may name: the mlx5 ones (registered too), the uverbs ones. */
export function scenarioDesignNames(): string[] {
  return [...mlx5OdpDesignNames(), ...UVERBS_MMAP_DESIGN_NAMES];
}

/** What is wrong with a design name, as one line; null for a known design. */
export function scenarioDesignProblem(name: string): string | null {
  if (isUverbsMmapDesignName(name)) return null;
  const problem = mlx5OdpDesignProblem(name);
  if (problem === null || isDesignModulePath(name)) return problem;
  return `unknown design "${name}"; known: ${scenarioDesignNames().join(", ")}`;
}
