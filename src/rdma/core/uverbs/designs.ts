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

/** The design named `name` (default "seed"); an unknown name is an odpsim usage error. */
export function uverbsMmapDesign(name = "seed"): UverbsMmapDesign {
  const design = UVERBS_MMAP_DESIGNS[name];
  if (design === undefined) throw new Error(`no uverbs mmap design "${name}"`);
  return design;
}
