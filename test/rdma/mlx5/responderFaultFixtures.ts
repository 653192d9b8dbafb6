/**
 * Fixtures for tests of what a fault reports having mapped (pageCount.test.ts,
 * hmmMirrorUnaligned.test.ts): a design that records each pagefault_single_data_segment
 * return, and an RDMA responder fault driven through it.
 */
import type { Mlx5IbDev } from "../../../src/rdma/mlx5/mlx5IbDev.ts";
import type { Mlx5OdpDesign } from "../../../src/rdma/mlx5/odp/mlx5OdpDesign.ts";
import { mlx5IbMrRdmaPfaultHandler } from "../../../src/rdma/mlx5/rdmaPfault.ts";
import type { KGen } from "../../../src/sim/task.ts";

/** `design`, recording what each pagefault_single_data_segment returned in `rets`. */
export function recording(design: Mlx5OdpDesign, rets: number[]): Mlx5OdpDesign {
  return {
    ...design,
    *pagefaultSingleDataSegment(...args) {
      const ret = yield* design.pagefaultSingleDataSegment(...args);
      rets.push(ret);
      return ret;
    },
  };
}

/** An RDMA WRITE responder fault of [va, va + len): what each segment returned, what it resumed. */
export function* responderFault(
  h: { readonly dev: Mlx5IbDev; readonly design: Mlx5OdpDesign },
  key: number,
  va: number,
  len: number,
): KGen<{ seg: number[]; resumed: number }> {
  const seg: number[] = [];
  let resumed = Number.NaN;
  const pf = {
    rkey: key,
    rdmaVa: va,
    rdmaOpLen: len,
    bytesCommitted: 0,
    packetSize: 1024,
    write: true,
  };
  yield* mlx5IbMrRdmaPfaultHandler(h.dev, recording(h.design, seg), pf, (ret) => {
    resumed = ret;
  });
  return { seg, resumed };
}
