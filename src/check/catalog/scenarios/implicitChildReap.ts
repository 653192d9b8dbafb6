/**
 * Catalog scenario: an implicit ODP MR whose one child keeps losing all its pages. The
 * device writes two pages of a buffer in turn while the process discards them
 * (MADV_DONTNEED) in turn, so invalidations leave the child empty and queue its reaping
 * while page faults still use it; at the end the process deregisters the implicit MR.
 * A reap queued twice frees the child under the second run of its work; a parent
 * count leaked by a reap that lost the race makes the deregistration wait forever.
 *
 * Models no kernel file: the kind of program (an implicit MR over a buffer the
 * allocator keeps returning to the kernel) that hit CVE-2025-21714.
 */
import type { KGen } from "../../../sim/task.ts";
import type { MmStruct } from "../../../mm/mmStruct.ts";
import { MADV_DONTNEED, doMadvise } from "../../../mm/madvise.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import { mlx5DeviceDma } from "../../../rdma/mlx5/deviceDma.ts";
import type { Scenario } from "../../scenario.ts";
import {
  deregAfter,
  instantOdpHost,
  setupDone,
  setupImplicitOdpBuffer,
  type ImplicitOdpBuffer,
  type OdpHost,
} from "./odpHost.ts";

const ROUNDS = 6;
const PAGES = 2;
/** The process discards a page, alternating, this many times. */
const DISCARDS = 20;
export const implicitChildReap: Scenario = {
  name: "implicit-child-reap",
  description:
    "implicit-child-reap v2: 2-page anon buffer under an implicit ODP MR, zero-cost faults " +
    "and UMRs; 6 rounds of " +
    "nic: write page 0, write page 1; cpu: 20 times madvise(DONTNEED) " +
    "of page 0 and page 1 in turn; user: join both, dereg_mr",
  build: (ctx) => instantOdpHost(ctx, setup),
};

function* setup(host: OdpHost): KGen {
  const { k, proc, dev } = host;
  const mm = proc.mm;
  if (mm === null) return;
  const buf = yield* setupImplicitOdpBuffer(host, PAGES * PAGE_SIZE);
  setupDone(host);
  const nic = k.spawn("nic", { kind: "device", name: dev.name }, () => nicRounds(host, buf));
  const cpu = proc.spawnThread("cpu", () => discardInTurn(mm, buf.addr));
  proc.spawnThread("user", () => deregAfter(host, [nic, cpu], buf.imr));
}

/** ROUNDS times, the device writes each page in turn; stops at the first error. */
function* nicRounds(host: OdpHost, buf: ImplicitOdpBuffer): KGen {
  for (let round = 0; round < ROUNDS; round++) {
    for (let page = 0; page < PAGES; page++) {
      const data = new Uint8Array(16).fill(0xa0 + round);
      const va = buf.addr + page * PAGE_SIZE;
      const ret = yield* mlx5DeviceDma(host.dev, host.design, {
        key: buf.imr.lkey,
        va,
        buf: data,
        write: true,
      });
      if (ret < 0) return;
    }
  }
}

/** DISCARDS times, MADV_DONTNEED the next page in turn. */
function* discardInTurn(mm: MmStruct, addr: number): KGen {
  for (let i = 0; i < DISCARDS; i++) {
    yield* doMadvise(mm, addr + (i % PAGES) * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED);
  }
}
