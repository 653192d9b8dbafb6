/**
 * Catalog scenario: the device faults a page of an ODP MR in while the process
 * discards that page (MADV_DONTNEED) and touches it again, so the CPU maps a new frame.
 * Afterwards the device reads the page again. Any design whose interlock lets the
 * device keep (or regain) a translation to the discarded frame is caught by the
 * device-access oracle on that read.
 *
 * Models no kernel file: the kind of program that exposed the races seed 001 closes.
 */
import type { KGen } from "../../../sim/task.ts";
import { cpuWrite } from "../../../mm/access.ts";
import type { MmStruct } from "../../../mm/mmStruct.ts";
import { MADV_DONTNEED, doMadvise } from "../../../mm/madvise.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import { mlx5DeviceDma } from "../../../rdma/mlx5/deviceDma.ts";
import type { Scenario } from "../../scenario.ts";
import { withOdpHost, setupDone, setupOdpBuffer, type OdpBuffer, type OdpHost } from "./odpHost.ts";

/** Each side repeats its part, at the device's fault latency, this many times. */
const ROUNDS = 3;

export const faultVsInvalidate: Scenario = {
  name: "fault-vs-invalidate",
  description:
    "fault-vs-invalidate v2: 4-page anon ODP MR; 3 rounds of nic: write page 0, sleep " +
    "one fault latency, read page 0; cpu: sleep one fault latency, madvise(DONTNEED) page 0, " +
    "write page 0",
  build: (ctx) => withOdpHost(ctx, setup),
};

function* setup(host: OdpHost): KGen {
  const buf = yield* setupOdpBuffer(host, 4);
  const mm = host.proc.mm;
  if (mm === null) return;
  setupDone(host);
  host.k.spawn("nic", { kind: "device", name: host.dev.name }, () => nic(host, buf));
  host.proc.spawnThread("cpu", () => cpu(host, mm, buf));
}

/** Each round: write page 0, wait one fault latency, read page 0 back. */
function* nic(host: OdpHost, buf: OdpBuffer): KGen {
  const { k, dev, design } = host;
  for (let round = 0; round < ROUNDS; round++) {
    const data = new Uint8Array(64).fill(0xa0 + round);
    yield* mlx5DeviceDma(dev, design, { key: buf.mr.lkey, va: buf.addr, buf: data, write: true });
    yield* k.sleep(dev.cost.pageFaultNs);
    const back = new Uint8Array(64);
    yield* mlx5DeviceDma(dev, design, { key: buf.mr.lkey, va: buf.addr, buf: back, write: false });
  }
}

/** Each round: wait one fault latency, drop page 0, write it again. */
function* cpu(host: OdpHost, mm: MmStruct, buf: OdpBuffer): KGen {
  for (let round = 0; round < ROUNDS; round++) {
    yield* host.k.sleep(host.dev.cost.pageFaultNs);
    yield* doMadvise(mm, buf.addr, PAGE_SIZE, MADV_DONTNEED);
    yield* cpuWrite(mm, buf.addr, new Uint8Array(8).fill(0xc0 + round));
  }
}
