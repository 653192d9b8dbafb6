/**
 * Error numbers (include/uapi/asm-generic/errno-base.h, errno.h), as the kernel returns
 * them: negative from kernel functions, so `ret < 0` means failure and the value says
 * which. Simulated syscalls return these values; they are never thrown.
 */
export const EPERM = -1;
export const ENOENT = -2;
export const EINTR = -4;
export const EIO = -5;
export const EBADF = -9;
export const EAGAIN = -11;
export const ENOMEM = -12;
export const EACCES = -13;
export const EFAULT = -14;
export const EBUSY = -16;
export const EEXIST = -17;
export const ENODEV = -19;
export const EINVAL = -22;
export const ENOSPC = -28;
export const ERANGE = -34;
export const ENOSYS = -38;
export const EOPNOTSUPP = -95;
export const ETIMEDOUT = -110;
export const EOVERFLOW = -75;
export const ERESTARTSYS = -512;

const NAMES: Readonly<Record<number, string>> = {
  [EPERM]: "EPERM",
  [ENOENT]: "ENOENT",
  [EINTR]: "EINTR",
  [EIO]: "EIO",
  [EBADF]: "EBADF",
  [EAGAIN]: "EAGAIN",
  [ENOMEM]: "ENOMEM",
  [EACCES]: "EACCES",
  [EFAULT]: "EFAULT",
  [EBUSY]: "EBUSY",
  [EEXIST]: "EEXIST",
  [ENODEV]: "ENODEV",
  [EINVAL]: "EINVAL",
  [ENOSPC]: "ENOSPC",
  [ERANGE]: "ERANGE",
  [ENOSYS]: "ENOSYS",
  [EOPNOTSUPP]: "EOPNOTSUPP",
  [ETIMEDOUT]: "ETIMEDOUT",
  [EOVERFLOW]: "EOVERFLOW",
  [ERESTARTSYS]: "ERESTARTSYS",
};

/** `-EFAULT` for -14, the number itself for a value that is not an error. */
export function errnoName(ret: number): string {
  const name = NAMES[ret];
  return name === undefined ? String(ret) : `-${name}`;
}
