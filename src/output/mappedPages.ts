/**
 * The pages each ODP umem has mapped for the device, counted from a trace: the
 * "pages mapped per MR" counter of the Perfetto export.
 *
 * Models no kernel file. The umem_odp code emits `odp_map_page` (fields `umem`,
 * `index`) when it stores a page's DMA address in the umem's map, and `odp_unmap_page`
 * when it clears one; a page mapped again while still mapped (a refresh) is counted
 * once. The counter is named after the umem, which belongs to exactly one MR.
 */
import type { TraceEntry } from "../sim/trace.ts";

export interface MappedPagesSample {
  /** The counter's name: `pages mapped <umem>`. */
  readonly name: string;
  readonly umem: string;
  readonly value: number;
}

export class MappedPages {
  private readonly pages = new Map<string, Set<number>>();

  /** The umem's new count if `entry` maps or unmaps one of its pages, else null. */
  observe(entry: TraceEntry): MappedPagesSample | null {
    if (entry.kind !== "event") return null;
    const map = entry.label === "odp_map_page";
    if (!map && entry.label !== "odp_unmap_page") return null;
    const umem = entry.fields?.umem;
    const index = entry.fields?.index;
    if (typeof umem !== "string" || typeof index !== "number") return null;
    const set = this.pages.get(umem) ?? new Set<number>();
    this.pages.set(umem, set);
    if (map) set.add(index);
    else set.delete(index);
    return { name: `pages mapped ${umem}`, umem, value: set.size };
  }
}
