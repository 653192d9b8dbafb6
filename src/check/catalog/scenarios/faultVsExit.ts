/**
 * Catalog scenario: the device keeps faulting on an ODP MR while the process exits:
 * exit_mm drops the last mm_users reference and exit_mmap tears the address space
 * down (release of every mirror, then the VMAs) under the fault handler's feet.
 *
 * Models no kernel file: the race Jason Gunthorpe diagrammed in seed 002's thread
 * (hmm_range_fault walking VMAs that exit_mmap is freeing).
 */
import type { KGen } from "../../../sim/task.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import { exitMm } from "../../../mm/process.ts";
import { mlx5DeviceDma } from "../../../rdma/mlx5/deviceDma.ts";
import type { Scenario } from "../../scenario.ts";
import { odpHost, setupOdpBuffer } from "./odpHost.ts";

const PAGES = 4;

export const faultVsExit: Scenario = {
  name: "fault-vs-exit",
  description:
    "fault-vs-exit v1: 4-page anon ODP MR; nic: write each page in turn; process: sleep " +
    "one fault latency, exit_mm",
  build(ctx) {
    const host = odpHost(ctx);
    const { k, proc, dev, design } = host;
    proc.spawnThread("setup", function* (): KGen {
      const buf = yield* setupOdpBuffer(host, PAGES);
      k.spawn("nic", { kind: "device", name: dev.name }, function* (): KGen {
        for (let page = 0; page < PAGES; page++) {
          const data = new Uint8Array(16).fill(page);
          const va = buf.addr + page * PAGE_SIZE;
          const ret = yield* mlx5DeviceDma(dev, design, {
            key: buf.mr.lkey,
            va,
            buf: data,
            write: true,
          });
          if (ret < 0) return;
        }
      });
      proc.spawnThread("exit", function* (): KGen {
        yield* k.sleep(dev.cost.pageFaultNs);
        yield* exitMm(proc);
      });
    });
    return k;
  },
};
