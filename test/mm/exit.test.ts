import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuWrite } from "../../src/mm/access.ts";
import { File } from "../../src/mm/file.ts";
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
} from "../../src/mm/mmap.ts";
import { mmput } from "../../src/mm/mmStruct.ts";
import { PAGE_SIZE } from "../../src/mm/page.ts";
import type { KGen } from "../../src/sim/task.ts";
import { RecordingSubscriptions, fill, runIn, world } from "./helpers.ts";

test("exit_mmap: release first, then one UNMAP over the address space, ->close and fput, frames freed", () => {
  const w = world();
  const subs = new RecordingSubscriptions();
  w.mm.notifierSubscriptions = subs;
  const log: string[] = [];
  const dev = new File(w.k, null, {
    *mmap(_f, vma): KGen<number> {
      vma.vmOps = {
        *close(): KGen {
          log.push(`close (release seen: ${subs.calls.some((c) => c.call === "release")})`);
        },
      };
      return 0;
    },
    *release(): KGen {
      log.push("file release");
    },
  });
  runIn(w, function* (): KGen {
    const before = w.phys.usedFrames;
    const a = yield* vmMmap(
      w.mm,
      0,
      4 * PAGE_SIZE,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS,
    );
    assert.ok((yield* cpuWrite(w.mm, a, fill(4 * PAGE_SIZE, 1))).ok);
    yield* vmMmap(w.mm, 0, PAGE_SIZE, PROT_READ, MAP_SHARED, dev);
    yield* mmput(w.mm); // the file's own reference is the test's
    assert.deepEqual(
      subs.calls.map((c) => c.call + (c.event === undefined ? "" : ` ${c.event}`)),
      ["release", "start UNMAP", "end UNMAP"],
    );
    assert.deepEqual(log, ["close (release seen: true)"]);
    assert.equal(w.phys.usedFrames, before);
    assert.equal(w.mm.freed, true);
  });
});
