/**
 * The mlx5 driver's verbs: what IbDevice.ops calls.
 *
 * Models mlx5_ib_alloc_ucontext / mlx5_ib_reg_user_mr / mlx5_ib_dereg_mr /
 * mlx5_ib_advise_mr (drivers/infiniband/hw/mlx5/main.c, mr.c, odp.c) for ODP MRs,
 * dispatching the design-dependent parts to the chosen design module.
 */
import { EINVAL } from "../../sim/errno.ts";
import type { KGen } from "../../sim/task.ts";
import type { IbDeviceOps } from "../core/ibDevice.ts";
import type { IbMr } from "../core/ibMr.ts";
import type { IbPd } from "../core/ibPd.ts";
import type { IbUcontext } from "../core/ucontext.ts";
import { IB_ACCESS_ON_DEMAND, IB_ODP_SUPPORT_IMPLICIT } from "../core/ibVerbs.ts";
import type { Mlx5IbDev } from "./mlx5IbDev.ts";
import { isMlx5IbMr } from "./mlx5IbMr.ts";
import type { Mlx5OdpDesign } from "./odp/mlx5OdpDesign.ts";
import { mlx5DeregPinnedMr, mlx5RegPinnedMr } from "./pinnedMr.ts";
import { Mlx5Prefetch } from "./prefetch.ts";
import type { Mlx5Port } from "./qp/mlx5Port.ts";
import { mlx5QpOps } from "./qp/qpOps.ts";

/** The ops plus the driver state kept with them (the port, the prefetch state). */
type Mlx5IbDeviceOps = IbDeviceOps & {
  readonly mlx5Port: Mlx5Port;
  readonly mlx5Prefetch: Mlx5Prefetch;
};

/** Registers the driver: fills `dev.ops` with mlx5's verbs for `design`. */
export function mlx5IbRegisterDevice(dev: Mlx5IbDev, design: Mlx5OdpDesign): void {
  const qp = mlx5QpOps(dev, design);
  const prefetch = new Mlx5Prefetch(dev, design);
  const ops: Mlx5IbDeviceOps = {
    queryDevice: () => ({ odpCaps: dev.odpCaps, maxMrSize: Number.MAX_SAFE_INTEGER }),
    allocUcontext: (ctx) => mlx5IbAllocUcontext(dev, design, ctx),
    deallocUcontext: () => mlx5IbDeallocUcontext(),
    regUserMr: (pd, start, length, _iova, access) =>
      mlx5IbRegUserMr(dev, design, pd, start, length, access),
    deregMr: (mr) => mlx5IbDeregMr(design, mr),
    adviseMr: (pd, advice, flags, sgList) => prefetch.adviseMr(pd, advice, flags, sgList),
    qpOps: qp.ops,
    mlx5Port: qp.port,
    mlx5Prefetch: prefetch,
  };
  dev.ops = ops;
}

function* mlx5IbAllocUcontext(
  dev: Mlx5IbDev,
  design: Mlx5OdpDesign,
  ctx: IbUcontext,
): KGen<number> {
  design.allocUcontext(dev, ctx);
  yield "alloc_ucontext";
  return 0;
}

function* mlx5IbDeallocUcontext(): KGen {
  yield "dealloc_ucontext";
}

function* mlx5IbRegUserMr(
  dev: Mlx5IbDev,
  design: Mlx5OdpDesign,
  pd: IbPd,
  start: number,
  length: number,
  access: number,
): KGen<IbMr | number> {
  if ((access & IB_ACCESS_ON_DEMAND) === 0) {
    return yield* mlx5RegPinnedMr(dev, pd, start, length, access);
  }
  const implicit = start === 0 && length === Number.MAX_SAFE_INTEGER;
  if (implicit && (dev.odpCaps.generalCaps & IB_ODP_SUPPORT_IMPLICIT) === 0) return EINVAL;
  return yield* design.regOdpMr(dev, pd, start, length, access);
}

function* mlx5IbDeregMr(design: Mlx5OdpDesign, mr: IbMr): KGen<number> {
  if (!isMlx5IbMr(mr)) return EINVAL;
  if (mr.pinnedUmem !== null) return yield* mlx5DeregPinnedMr(mr);
  return yield* design.deregOdpMr(mr);
}
