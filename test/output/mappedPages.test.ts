/**
 * The "pages mapped" counter: per umem, a page counts once however often it is mapped,
 * and an unmap takes it away; other events leave the count alone.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MappedPages } from "../../src/output/mappedPages.ts";
import type { TraceEntry } from "../../src/sim/trace.ts";

function ev(label: string, umem: string, index: number): TraceEntry {
  return { step: 0, timeNs: 0, task: 0, kind: "event", label, fields: { umem, index, pfn: 3 } };
}

test("maps and unmaps are counted per umem, a refresh once", () => {
  const m = new MappedPages();
  const values = [
    ev("odp_map_page", "u#1", 0),
    ev("odp_map_page", "u#1", 1),
    ev("odp_map_page", "u#1", 1),
    ev("odp_map_page", "u#2", 0),
    ev("odp_unmap_page", "u#1", 0),
  ].map((e) => m.observe(e));
  assert.deepEqual(
    values.map((v) => [v?.name, v?.value]),
    [
      ["pages mapped u#1", 1],
      ["pages mapped u#1", 2],
      ["pages mapped u#1", 2],
      ["pages mapped u#2", 1],
      ["pages mapped u#1", 1],
    ],
  );
});

test("other events and malformed fields are not samples", () => {
  const m = new MappedPages();
  assert.equal(m.observe(ev("page_fault", "u#1", 0)), null);
  const noIndex: TraceEntry = { ...ev("odp_map_page", "u#1", 0), fields: { umem: "u#1" } };
  assert.equal(m.observe(noIndex), null);
});
