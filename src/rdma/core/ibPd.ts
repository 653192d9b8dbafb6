/**
 * A protection domain: the scope in which keys are valid.
 *
 * Models struct ib_pd (include/rdma/ib_verbs.h); a key used with a QP of another PD is
 * an access error on the device, and advise_mr with a key of another PD is -EPERM.
 */
import { KObject } from "../../sim/kasan.ts";
import type { IbUcontext } from "./ucontext.ts";

export class IbPd extends KObject {
  constructor(
    readonly uctx: IbUcontext,
    readonly pdn: number,
  ) {
    super(uctx.k.kasan, "ib_pd");
  }
}
