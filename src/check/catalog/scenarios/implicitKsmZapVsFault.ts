/**
 * Catalog scenario: a page of an implicit ODP MR keeps being discarded while the device
 * keeps writing it. Each discard (MADV_DONTNEED) empties the slot's child, whose freeing
 * work then rewrites the parent's KSM slot; each device write after it faults, finds no
 * live child and makes a new one for the same slot, which the fault points the KSM slot
 * at. Two UMRs of one KSM slot built from two views of the children: if the zap lands
 * last, the slot stays empty while its new child lives, and the device faults on it for
 * ever.
 *
 * Models no kernel file: the program of the race diagram in "RDMA/mlx5: Fix a race with
 * mlx5_ib_update_xlt on an implicit MR" (a child's KSM zap racing a child insertion).
 * The device costs are zero, so only the interleaving decides which UMR lands last.
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

/** The device writes the page this many times. */
const WRITES = 6;
/** The process discards it this many times. */
const DISCARDS = 3;

export const implicitKsmZapVsFault: Scenario = {
  name: "implicit-ksm-zap-vs-fault",
  description:
    "implicit-ksm-zap-vs-fault v1: 1-page anon buffer under an implicit ODP MR, zero-cost " +
    "faults and UMRs; nic: 6 writes of the page; cpu: 3 times madvise(DONTNEED) of the " +
    "page; user: join both, dereg_mr",
  build: (ctx) => instantOdpHost(ctx, setup),
};

function* setup(host: OdpHost): KGen {
  const { k, proc, dev } = host;
  const mm = proc.mm;
  if (mm === null) return;
  const buf = yield* setupImplicitOdpBuffer(host, PAGE_SIZE);
  setupDone(host);
  const nic = k.spawn("nic", { kind: "device", name: dev.name }, () => nicWrites(host, buf));
  const cpu = proc.spawnThread("cpu", () => discards(mm, buf.addr));
  proc.spawnThread("user", () => deregAfter(host, [nic, cpu], buf.imr));
}

/** The device writes the page WRITES times; stops at the first error. */
function* nicWrites(host: OdpHost, buf: ImplicitOdpBuffer): KGen {
  for (let i = 0; i < WRITES; i++) {
    const req = { key: buf.imr.lkey, va: buf.addr, buf: new Uint8Array(16).fill(i), write: true };
    if ((yield* mlx5DeviceDma(host.dev, host.design, req)) < 0) return;
  }
}

/** DISCARDS times, MADV_DONTNEED the page. */
function* discards(mm: MmStruct, addr: number): KGen {
  for (let i = 0; i < DISCARDS; i++) yield* doMadvise(mm, addr, PAGE_SIZE, MADV_DONTNEED);
}
