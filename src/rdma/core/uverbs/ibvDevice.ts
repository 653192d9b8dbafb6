/**
 * ibv_open_device() and ibv_close_device() as a user program issues them: open(2) of the
 * device's uverbs character device into the process's file table plus the GET_CONTEXT
 * command, and close(2) of that descriptor, whose last fput destroys what the context
 * still holds (uverbsMain.ts).
 *
 * Models the system calls libibverbs makes (rdma-core's libibverbs/device.c) on the
 * kernel side the uverbs layer models. verbs.ts's ibvOpenDevice is the file-less form the
 * unit tests of the verbs use; a process's verbs go through this one, as the catalog's.
 * A descriptor closed before is not in the file table: close(2) says -EBADF.
 */
import { EBADF } from "../../../sim/errno.ts";
import type { KGen } from "../../../sim/task.ts";
import { fput } from "../../../mm/file.ts";
import type { Process } from "../../../mm/process.ts";
import type { IbUcontext } from "../ucontext.ts";
import type { IbUverbsDevice } from "./uverbsDevice.ts";
import { fileUfile, ibUverbsGetUcontext, ibUverbsOpen } from "./uverbsMain.ts";

/** ibv_open_device(): the context of a fresh open of `udev` by `proc`, or an errno. */
export function* ibvOpenDevice(udev: IbUverbsDevice, proc: Process): KGen<IbUcontext | number> {
  const mm = proc.mm;
  if (mm === null) return EBADF; // an exited process has no file table to open into
  const filp = yield* ibUverbsOpen(udev, mm, proc.pid);
  if (typeof filp === "number") return filp;
  proc.files.push(filp);
  return ibUverbsGetUcontext(fileUfile(filp));
}

/** ibv_close_device(): close(2) of the context's descriptor; 0 or -EBADF. */
export function* ibvCloseDevice(ctx: IbUcontext, proc: Process): KGen<number> {
  ctx.k.exitToUserMode();
  const filp = ctx.ufile?.filp ?? null;
  const fd = filp === null ? -1 : proc.files.indexOf(filp);
  if (filp === null || fd < 0) return EBADF;
  proc.files.splice(fd, 1);
  yield* fput(filp);
  return 0;
}
