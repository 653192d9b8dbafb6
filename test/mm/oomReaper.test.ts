import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuWrite } from "../../src/mm/access.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, vmMmap } from "../../src/mm/mmap.ts";
import { oomReapTaskMm } from "../../src/mm/oomReaper.ts";
import { PAGE_SIZE } from "../../src/mm/page.ts";
import { walkPte } from "../../src/mm/pageTable.ts";
import type { KGen } from "../../src/sim/task.ts";
import { RecordingSubscriptions, fill, runIn, world } from "./helpers.ts";

test("OOM reaper: non-blockable UNMAP per VMA; a refused VMA is skipped with no end", () => {
  const w = world();
  let refused = 0;
  const subs = new RecordingSubscriptions((r) => r.start === refused);
  w.mm.notifierSubscriptions = subs;
  runIn(w, function* (): KGen {
    const flags = MAP_PRIVATE | MAP_ANONYMOUS;
    const a = yield* vmMmap(w.mm, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, flags);
    const b = yield* vmMmap(w.mm, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, flags);
    assert.ok((yield* cpuWrite(w.mm, a, fill(1, 1))).ok);
    assert.ok((yield* cpuWrite(w.mm, b, fill(1, 1))).ok);
    refused = a;
    assert.equal(yield* oomReapTaskMm(w.mm), false);
    assert.deepEqual(
      subs.calls.map((c) => [c.call, c.event, c.start, c.blockable]),
      [
        ["start", "UNMAP", b, false],
        ["end", "UNMAP", b, false],
        ["start", "UNMAP", a, false],
      ],
    );
    assert.equal(walkPte(w.mm, b), null, "reaped");
    assert.notEqual(walkPte(w.mm, a), null, "skipped");
  });
});
