import assert from "node:assert/strict";
import { test } from "node:test";
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, vmMmap } from "../../src/mm/mmap.ts";
import {
  findVma,
  mmdrop,
  mmget,
  mmgetNotZero,
  mmgrab,
  mmput,
  vmaLookup,
} from "../../src/mm/mmStruct.ts";
import { PAGE_SIZE } from "../../src/mm/page.ts";
import type { KGen } from "../../src/sim/task.ts";
import { runAllowingViolations, runIn, world } from "./helpers.ts";

test("mm: mmget_not_zero fails after the last mmput; the grabbed struct survives without an address space", () => {
  const w = world();
  const mm = w.mm;
  runIn(w, function* (): KGen {
    yield* vmMmap(mm, 0, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
    mmgrab(mm);
    assert.equal(mmgetNotZero(mm), true);
    yield* mmput(mm);
    assert.equal(mm.exited, false, "one user left");
    yield* mmput(mm);
    assert.equal(mm.exited, true);
    assert.equal(mm.vmas.length, 0);
    assert.equal(mmgetNotZero(mm), false);
    assert.equal(mm.freed, false, "mmgrab keeps the struct");
    mmdrop(mm);
    assert.equal(mm.freed, true);
  });
});

test("mm: an mmget after the last mmput, or touching a dropped mm, is reported", () => {
  const w = world();
  const { violations } = runAllowingViolations(w, function* (): KGen {
    yield* mmput(w.mm);
    mmget(w.mm);
  });
  assert.equal(violations[0]?.kind, "use_after_free", "exit dropped the last mm_count");

  const w2 = world();
  const r2 = runAllowingViolations(w2, function* (): KGen {
    mmgrab(w2.mm);
    yield* mmput(w2.mm);
    mmget(w2.mm);
  });
  assert.equal(r2.violations[0]?.kind, "refcount_use_after_release");
});

test("mm: find_vma returns the next VMA above a hole; vma_lookup only a containing one", () => {
  const w = world();
  runIn(w, function* (): KGen {
    const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    yield* vmMmap(w.mm, 0x10_0000, PAGE_SIZE, PROT_READ, flags);
    yield* vmMmap(w.mm, 0x30_0000, PAGE_SIZE, PROT_READ, flags);
    assert.equal(findVma(w.mm, 0x20_0000)?.vmStart, 0x30_0000);
    assert.equal(vmaLookup(w.mm, 0x20_0000), null);
    assert.equal(vmaLookup(w.mm, 0x10_0fff)?.vmStart, 0x10_0000);
    assert.equal(findVma(w.mm, 0x30_1000), null);
  });
});
