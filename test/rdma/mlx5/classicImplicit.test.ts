import assert from "node:assert/strict";
import { test } from "node:test";
import { vmMunmap } from "../../../src/mm/mmap.ts";
import { PAGE_SIZE } from "../../../src/mm/page.ts";
import { mlx5SetImrMttSize } from "../../../src/rdma/mlx5/odp/implicitMr.ts";
import { UniformRandom } from "../../../src/sim/strategies/uniformRandom.ts";
import type { KGen } from "../../../src/sim/task.ts";
import { anonAt, devWrite, implicitHost, implicitMr, mmOf, openPd } from "./implicitFixtures.ts";

/** Implicit MRs as v5.3, beyond what they share with hmm-mirror (perMmImplicit.test.ts). */
test("classic implicit: device writes racing munmap of the child they fault in stay clean over random schedules", () => {
  for (let seed = 0; seed < 60; seed++) {
    const h = implicitHost("classic", new UniformRandom(), seed);
    mlx5SetImrMttSize(h.dev, 2 ** 21);
    h.proc.spawnThread("setup", function* (): KGen {
      const pd = yield* openPd(h);
      const imr = yield* implicitMr(pd);
      const base = 7 * 2 ** 21;
      yield* anonAt(h, base, 2);
      h.k.spawn("nic", { kind: "device", name: h.dev.name }, function* (): KGen {
        for (let i = 0; i < 2; i++) {
          const data = new Uint8Array(8).fill(i + 1);
          if ((yield* devWrite(h, imr.lkey, base + i * PAGE_SIZE, data)) < 0) return;
        }
      });
      h.proc.spawnThread("munmap", function* (): KGen {
        yield* vmMunmap(mmOf(h), base, 2 * PAGE_SIZE);
      });
    });
    const r = h.k.run();
    assert.equal(r.internalError, null, `seed ${seed}: ${r.internalError?.message ?? ""}`);
    assert.deepEqual(r.violations, [], `seed ${seed}`);
  }
});
