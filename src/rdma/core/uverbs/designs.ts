/**
 * The uverbs mmap designs by name (for scenarios and the command line).
 *
 * Models no kernel file.
 */
import { entryUmapDesign } from "./entryDesign.ts";
import { seedUmapDesign } from "./seedDesign.ts";
import type { UverbsMmapDesign } from "./umapDesign.ts";

export const UVERBS_MMAP_DESIGNS: Readonly<Record<string, UverbsMmapDesign>> = {
  seed: seedUmapDesign,
  entry: entryUmapDesign,
};

/** The names, oldest first (a tuple, for schema enums). */
export const UVERBS_MMAP_DESIGN_NAMES = ["seed", "entry"] as const;

export type UverbsMmapDesignName = (typeof UVERBS_MMAP_DESIGN_NAMES)[number];

/** Whether `name` is a uverbs mmap design's. */
export function isUverbsMmapDesignName(name: string): name is UverbsMmapDesignName {
  return (UVERBS_MMAP_DESIGN_NAMES as readonly string[]).includes(name);
}

/** The design named `name` (default "seed"); an unknown name is an odpsim usage error. */
export function uverbsMmapDesign(name = "seed"): UverbsMmapDesign {
  const design = UVERBS_MMAP_DESIGNS[name];
  if (design === undefined) throw new Error(`no uverbs mmap design "${name}"`);
  return design;
}
