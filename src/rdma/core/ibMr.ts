/**
 * A memory region as the IB core sees it.
 *
 * Models struct ib_mr (include/rdma/ib_verbs.h). The driver's MR (struct mlx5_ib_mr)
 * extends it with the device state; the IB core only needs the keys and the range.
 */
import { KObject } from "../../sim/kasan.ts";
import type { Kernel } from "../../sim/kernel.ts";
import type { IbPd } from "./ibPd.ts";

export class IbMr extends KObject {
  constructor(
    k: Kernel,
    kind: string,
    readonly pd: IbPd,
    readonly lkey: number,
    readonly rkey: number,
    readonly iova: number,
    readonly length: number,
    readonly access: number,
  ) {
    super(k.kasan, kind);
  }
}
