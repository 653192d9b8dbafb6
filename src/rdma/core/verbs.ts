/**
 * The verbs a user program calls, as the uverbs layer hands them to the driver.
 *
 * Models the ioctl/write handlers of drivers/infiniband/core/uverbs_cmd.c and
 * uverbs_std_types_mr.c that the seeds exercise (open / alloc_pd / reg_mr / dereg_mr /
 * advise_mr / query_device_ex) together with the argument checks the core makes before
 * the driver sees a call. A verb that creates or destroys an MR holds the uverbs file's
 * hw_destroy_rwsem for read (rdma_alloc_begin_uobject, rdma_lookup_get_uobject for
 * DESTROY), so it never overlaps the destruction of the file's objects at close or hot
 * unplug (uverbs/rdmaCore.ts), which destroys the MRs the context still lists. Errors
 * are negative errno values, as ibv_* would see them.
 *
 * Each verb is a system call: a thread with SIGKILL pending dies on entry
 * (`exitToUserMode`), as it would on its way back to user mode after the previous one.
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
  sgeLengthsFit,
  type IbAdviseMrAdvice,
} from "./ibVerbs.ts";
import { IbUcontext } from "./ucontext.ts";

/** ib_uverbs_open + alloc_ucontext: a process opens the device. */
export function* ibvOpenDevice(
  device: IbDevice,
  mm: MmStruct,
  tgid: number,
): KGen<IbUcontext | number> {
  device.k.exitToUserMode();
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
  ctx.k.exitToUserMode();
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
  ctx.k.exitToUserMode();
  if (!ctx.live) return EIO;
  const ret = ibCheckMrAccess(ctx, access);
  if (ret < 0) return ret;
  return yield* underUobjectLock(ctx, () => regUserMrListed(pd, addr, length, access));
}

/** The driver's reg_user_mr; the new MR joins its context's list (its uobject). */
function* regUserMrListed(
  pd: IbPd,
  addr: number,
  length: number,
  access: number,
): KGen<IbMr | number> {
  const mr = yield* pd.uctx.device.driver.regUserMr(pd, addr, length, addr, access);
  if (typeof mr !== "number") pd.uctx.mrs.add(mr);
  return mr;
}

/**
 * Runs a verb that creates or destroys an object with the file's hw_destroy_rwsem held
 * for read: -EIO when the file's objects are being (or have been) destroyed. A context
 * opened without a uverbs file (unit tests) has no such lock.
 */
function* underUobjectLock<T>(ctx: IbUcontext, body: () => KGen<T | number>): KGen<T | number> {
  const ufile = ctx.ufile;
  if (ufile === null) return yield* body();
  if (!ufile.hwDestroyRwsem.downReadTrylock()) return EIO;
  try {
    return ufile.ucontext === ctx ? yield* body() : EIO;
  } finally {
    ufile.hwDestroyRwsem.upRead();
  }
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
  const ctx = mr.pd.uctx;
  ctx.k.exitToUserMode();
  return yield* underUobjectLock(ctx, () => deregMrListed(mr));
}

/** The driver's dereg_mr of an MR its context still lists. */
function* deregMrListed(mr: IbMr): KGen<number> {
  const ctx = mr.pd.uctx;
  if (!ctx.mrs.has(mr)) return EINVAL; // the handle is gone (already destroyed)
  const ret = yield* ctx.device.driver.deregMr(mr);
  if (ret === 0) ctx.mrs.delete(mr);
  return ret;
}

/** ibv_advise_mr(). */
export function* ibvAdviseMr(
  pd: IbPd,
  advice: IbAdviseMrAdvice,
  flags: number,
  sgList: readonly IbSge[],
): KGen<number> {
  pd.uctx.k.exitToUserMode();
  if (!pd.uctx.live) return EIO;
  if (!sgeLengthsFit(sgList)) return EINVAL;
  return yield* pd.uctx.device.driver.adviseMr(pd, advice, flags, sgList);
}
