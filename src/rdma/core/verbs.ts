/**
 * The verbs a user program calls, as the uverbs layer hands them to the driver.
 *
 * Models the ioctl/write handlers of drivers/infiniband/core/uverbs_cmd.c and
 * uverbs_std_types_mr.c that the seeds exercise (open / alloc_pd / reg_mr / dereg_mr /
 * advise_mr / query_device_ex) together with the argument checks the core makes before
 * the driver sees a call. Errors are negative errno values, as ibv_* would see them.
 */
import { EINVAL, EIO, EOPNOTSUPP } from "../../sim/errno.ts";
import type { KGen } from "../../sim/task.ts";
import type { MmStruct } from "../../mm/mmStruct.ts";
import type { IbDevice, IbDeviceAttr, IbSge } from "./ibDevice.ts";
import type { IbMr } from "./ibMr.ts";
import { IbPd } from "./ibPd.ts";
import {
  IB_ACCESS_HUGETLB,
  IB_ACCESS_ON_DEMAND,
  IB_ACCESS_REMOTE_ATOMIC,
  IB_ACCESS_REMOTE_WRITE,
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_SUPPORTED,
  IB_ODP_SUPPORT,
  type IbAdviseMrAdvice,
} from "./ibVerbs.ts";
import { IbUcontext } from "./ucontext.ts";

/** ib_uverbs_open + alloc_ucontext: a process opens the device. */
export function* ibvOpenDevice(
  device: IbDevice,
  mm: MmStruct,
  tgid: number,
): KGen<IbUcontext | number> {
  const ctx = new IbUcontext(device.k, device, mm, tgid);
  const ret = yield* device.driver.allocUcontext(ctx);
  if (ret < 0) {
    device.k.kasan.free(ctx);
    return ret;
  }
  return ctx;
}

/** ibv_query_device_ex(). */
export function ibvQueryDeviceEx(ctx: IbUcontext): IbDeviceAttr {
  return ctx.device.driver.queryDevice();
}

/** ibv_alloc_pd(). */
export function ibvAllocPd(ctx: IbUcontext): IbPd | number {
  if (!ctx.live) return EIO;
  return new IbPd(ctx, ++ctx.pdCount);
}

/**
 * ibv_reg_mr(): ib_check_mr_access() and the ODP capability check of the core, then
 * the driver. `length` Number.MAX_SAFE_INTEGER with addr 0 asks for implicit ODP.
 */
export function* ibvRegMr(
  pd: IbPd,
  addr: number,
  length: number,
  access: number,
): KGen<IbMr | number> {
  const ctx = pd.uctx;
  if (!ctx.live) return EIO;
  const ret = ibCheckMrAccess(ctx, access);
  if (ret < 0) return ret;
  return yield* ctx.device.driver.regUserMr(pd, addr, length, addr, access);
}

/** ib_check_mr_access(): remote write/atomic need local write; ODP needs the cap. */
export function ibCheckMrAccess(ctx: IbUcontext, access: number): number {
  if ((access & ~IB_ACCESS_SUPPORTED) !== 0) return EINVAL;
  const remoteWrite = (access & (IB_ACCESS_REMOTE_WRITE | IB_ACCESS_REMOTE_ATOMIC)) !== 0;
  if (remoteWrite && (access & IB_ACCESS_LOCAL_WRITE) === 0) return EINVAL;
  if ((access & IB_ACCESS_ON_DEMAND) !== 0) {
    const caps = ctx.device.driver.queryDevice().odpCaps;
    if ((caps.generalCaps & IB_ODP_SUPPORT) === 0) return EOPNOTSUPP;
  } else if ((access & IB_ACCESS_HUGETLB) !== 0) {
    // IB_ACCESS_HUGETLB is meaningful for ODP MRs only.
    return EINVAL;
  }
  return 0;
}

/** ibv_dereg_mr(). */
export function* ibvDeregMr(mr: IbMr): KGen<number> {
  return yield* mr.pd.uctx.device.driver.deregMr(mr);
}

/** ibv_advise_mr(). */
export function* ibvAdviseMr(
  pd: IbPd,
  advice: IbAdviseMrAdvice,
  flags: number,
  sgList: readonly IbSge[],
): KGen<number> {
  if (!pd.uctx.live) return EIO;
  return yield* pd.uctx.device.driver.adviseMr(pd, advice, flags, sgList);
}
