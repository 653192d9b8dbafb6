/**
 * The mlx5 device as the uverbs layer sees it, and its hot unplug.
 *
 * Models the uverbs-facing parts of drivers/infiniband/hw/mlx5/main.c:
 * mlx5_ib_alloc_ucontext / mlx5_ib_dealloc_ucontext (the driver ops of
 * mlx5Driver.ts, handed to the uverbs device), and mlx5_ib_remove, which calls
 * ib_unregister_device (drivers/infiniband/core/device.c): the clients are removed
 * first — uverbs destroys every open file's objects, MRs included, under
 * hw_destroy_rwsem — and only then do the driver's stages come down, the ODP event
 * queue with them, after which the device does no more DMA.
 *
 * mlx5_ib_mmap (UAR / doorbell pages) is not modelled: it fails with -EINVAL. A host
 * whose programs map the device's IO memory gets the doorbell driver's mmap side instead
 * (doorbellDriver.ts: per ucontext one doorbell page of a BAR and one driver page, the
 * shape of mlx5_ib_mmap's UAR pages), and its BAR goes at the end of mlx5_ib_remove.
 */
import { EINVAL } from "../../sim/errno.ts";
import type { KGen } from "../../sim/task.ts";
import type { IbUcontext } from "../core/ucontext.ts";
import type { DoorbellDriver } from "../core/uverbs/doorbellDriver.ts";
import type { UverbsDriver } from "../core/uverbs/uverbsDevice.ts";
import { ibUverbsRemoveOne } from "../core/uverbs/uverbsMain.ts";
import type { IbUverbsDevice } from "../core/uverbs/uverbsDevice.ts";
import type { Mlx5IbDev } from "./mlx5IbDev.ts";

/** The ops of `dev` the uverbs device calls. */
export function mlx5UverbsDriver(dev: Mlx5IbDev): UverbsDriver {
  return {
    allocUcontext: (ucontext) => dev.driver.allocUcontext(ucontext),
    deallocUcontext: (ucontext) => dev.driver.deallocUcontext(ucontext),
    mmap: mlx5IbMmap,
  };
}

/**
 * The ops of `dev` with `doorbell`'s mmap side: the mlx5 context first, then the
 * doorbell's (undone if the doorbell cannot have its page); the device file maps the
 * doorbell and the driver page, and the PCI removal releases the doorbell's BAR.
 */
export function mlx5DoorbellUverbsDriver(dev: Mlx5IbDev, doorbell: DoorbellDriver): UverbsDriver {
  return {
    allocUcontext: (ucontext) => allocWithDoorbell(dev, doorbell, ucontext),
    deallocUcontext: (ucontext) => deallocWithDoorbell(dev, doorbell, ucontext),
    mmap: (ucontext, vma) => doorbell.mmap(ucontext, vma),
    mmapFree: (entry) => {
      doorbell.mmapFree(entry);
    },
    pciRemove: () => {
      doorbell.pciRemove();
    },
  };
}

function* allocWithDoorbell(
  dev: Mlx5IbDev,
  doorbell: DoorbellDriver,
  ucontext: IbUcontext,
): KGen<number> {
  const ret = yield* dev.driver.allocUcontext(ucontext);
  if (ret < 0) return ret;
  const db = yield* doorbell.allocUcontext(ucontext);
  if (db < 0) yield* dev.driver.deallocUcontext(ucontext);
  return db;
}

function* deallocWithDoorbell(
  dev: Mlx5IbDev,
  doorbell: DoorbellDriver,
  ucontext: IbUcontext,
): KGen {
  yield* doorbell.deallocUcontext(ucontext);
  yield* dev.driver.deallocUcontext(ucontext);
}

/** The mmap of the device file: no IO page is offered to these models. */
function* mlx5IbMmap(): KGen<number> {
  return EINVAL;
}

/** mlx5_ib_remove(): unregister (uverbs tears down its files), then stop the device. */
export function* mlx5IbRemove(dev: Mlx5IbDev, udev: IbUverbsDevice): KGen {
  yield* ibUverbsRemoveOne(udev);
  dev.removed = true;
  dev.k.event("mlx5_ib_remove", { device: dev.name });
  udev.driver.pciRemove?.();
}
