/**
 * An RDMA device as the IB core sees it: a name, its capabilities and the driver's
 * operations.
 *
 * Models struct ib_device and struct ib_device_ops (include/rdma/ib_verbs.h) for the
 * verbs the seeds touch. The driver (src/rdma/mlx5) fills the ops; the IB core calls
 * them from the uverbs entry points in verbs.ts.
 */
import { KObject } from "../../sim/kasan.ts";
import type { Kernel } from "../../sim/kernel.ts";
import type { KGen } from "../../sim/task.ts";
import type { IbAdviseMrAdvice, IbOdpCaps } from "./ibVerbs.ts";
import type { IbMr } from "./ibMr.ts";
import type { IbQpOps } from "./ibQp.ts";
import type { IbPd } from "./ibPd.ts";
import type { IbUcontext } from "./ucontext.ts";

/** struct ib_device_attr, the part ibv_query_device_ex reports that odpsim models. */
export interface IbDeviceAttr {
  readonly odpCaps: IbOdpCaps;
  readonly maxMrSize: number;
}

/** One scatter/gather element of an advise_mr call (struct ib_sge). */
export interface IbSge {
  readonly addr: number;
  readonly length: number;
  readonly lkey: number;
}

/** struct ib_device_ops: what a driver implements. */
export interface IbDeviceOps {
  queryDevice(): IbDeviceAttr;
  /** alloc_ucontext: the driver's part of opening the device (e.g. set invalidate_range). */
  allocUcontext(ctx: IbUcontext): KGen<number>;
  deallocUcontext(ctx: IbUcontext): KGen;
  /** reg_user_mr: an MR, or a negative errno. */
  regUserMr(
    pd: IbPd,
    start: number,
    length: number,
    iova: number,
    access: number,
  ): KGen<IbMr | number>;
  /** dereg_mr. */
  deregMr(mr: IbMr): KGen<number>;
  /** advise_mr: prefetch. */
  adviseMr(
    pd: IbPd,
    advice: IbAdviseMrAdvice,
    flags: number,
    sgList: readonly IbSge[],
  ): KGen<number>;
  /** create_qp / modify_qp / post_send / post_recv / destroy_qp, when the driver has QPs. */
  readonly qpOps?: IbQpOps;
}

export class IbDevice extends KObject {
  /** Set by the driver once it has filled `ops` (ib_register_device). */
  ops: IbDeviceOps | null = null;

  constructor(
    readonly k: Kernel,
    readonly name: string,
  ) {
    super(k.kasan, "ib_device");
  }

  /** The driver's ops; a device used before its driver registered is an odpsim bug. */
  get driver(): IbDeviceOps {
    if (this.ops === null) throw new Error(`ib_device ${this.name} has no driver registered`);
    return this.ops;
  }
}
