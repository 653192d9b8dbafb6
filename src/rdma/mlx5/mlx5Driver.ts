/**
 * The mlx5 driver's verbs: what IbDevice.ops calls.
 *
 * Models mlx5_ib_alloc_ucontext / mlx5_ib_reg_user_mr / mlx5_ib_dereg_mr /
 * mlx5_ib_advise_mr (drivers/infiniband/hw/mlx5/main.c, mr.c, odp.c) for ODP MRs,
 * dispatching the design-dependent parts to the chosen design module.
 */
import { EINVAL } from "../../sim/errno.ts";
import type { IbDeviceOps } from "../core/ibDevice.ts";
import { IB_ACCESS_ON_DEMAND, IB_ODP_SUPPORT_IMPLICIT } from "../core/ibVerbs.ts";
import type { Mlx5IbDev } from "./mlx5IbDev.ts";
import { Mlx5IbMr } from "./mlx5IbMr.ts";
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
    *allocUcontext(ctx) {
      design.allocUcontext(dev, ctx);
      yield "alloc_ucontext";
      return 0;
    },
    *deallocUcontext() {
      yield "dealloc_ucontext";
    },
    *regUserMr(pd, start, length, _iova, access) {
      if ((access & IB_ACCESS_ON_DEMAND) === 0) {
        return yield* mlx5RegPinnedMr(dev, pd, start, length, access);
      }
      const implicit = start === 0 && length === Number.MAX_SAFE_INTEGER;
      if (implicit && (dev.odpCaps.generalCaps & IB_ODP_SUPPORT_IMPLICIT) === 0) return EINVAL;
      return yield* design.regOdpMr(dev, pd, start, length, access);
    },
    *deregMr(mr) {
      if (!(mr instanceof Mlx5IbMr)) return EINVAL;
      if (mr.pinnedUmem !== null) return yield* mlx5DeregPinnedMr(mr);
      return yield* design.deregOdpMr(mr);
    },
    *adviseMr(pd, advice, flags, sgList) {
      return yield* prefetch.adviseMr(pd, advice, flags, sgList);
    },
    qpOps: qp.ops,
    mlx5Port: qp.port,
    mlx5Prefetch: prefetch,
  };
  dev.ops = ops;
}
