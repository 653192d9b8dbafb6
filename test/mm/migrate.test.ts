import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuRead, cpuWrite } from "../../src/mm/access.ts";
import { getUserPagesRemote } from "../../src/mm/gup.ts";
import { migrateRange } from "../../src/mm/migrate.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, vmMmap } from "../../src/mm/mmap.ts";
import { mmapReadLock, mmapReadUnlock } from "../../src/mm/mmStruct.ts";
import { PAGE_SIZE } from "../../src/mm/page.ts";
import { walkPte } from "../../src/mm/pageTable.ts";
import type { KGen } from "../../src/sim/task.ts";
import { RecordingSubscriptions, fill, runIn, world } from "./helpers.ts";

test("migrate: pages move to new frames under a MIGRATE range; the old frames are freed; a referenced page stays", () => {
  const w = world();
  const subs = new RecordingSubscriptions();
  w.mm.notifierSubscriptions = subs;
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(
      w.mm,
      0,
      2 * PAGE_SIZE,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS,
    );
    assert.ok((yield* cpuWrite(w.mm, a, fill(2 * PAGE_SIZE, 8))).ok);
    const held: number[] = [];
    yield* mmapReadLock(w.mm);
    assert.equal(yield* getUserPagesRemote(w.mm, a + PAGE_SIZE, 1, {}, held), 1);
    mmapReadUnlock(w.mm);
    const old = w.phys.pfnToPage(walkPte(w.mm, a)?.pte.pfn ?? -1);
    const gen = old.generation;
    assert.equal(yield* migrateRange(w.mm, a, a + 2 * PAGE_SIZE), 1);
    assert.deepEqual(subs.starts(), [["MIGRATE", a, a + 2 * PAGE_SIZE]]);
    subs.assertPaired();
    assert.notEqual(walkPte(w.mm, a)?.pte.pfn, old.pfn);
    assert.equal(old.generation, gen + 1, "the old frame was freed");
    assert.equal(
      walkPte(w.mm, a + PAGE_SIZE)?.pte.pfn,
      held[0],
      "a GUP reference blocks migration",
    );
    const r = yield* cpuRead(w.mm, a, 1);
    assert.deepEqual(r.ok ? [...r.data] : null, [8]);
  });
});
