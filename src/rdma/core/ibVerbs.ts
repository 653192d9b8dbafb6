/**
 * Verbs constants shared by the IB core, the driver and user programs.
 *
 * Models include/rdma/ib_verbs.h (enum ib_access_flags, struct ib_odp_caps, enum
 * ib_odp_general_cap_bits / ib_odp_transport_cap_bits) and the matching uapi
 * (IBV_ACCESS_*, IBV_ADVISE_MR_*) that rdma-core passes through unchanged.
 */

/** enum ib_access_flags (values as in the uapi). */
export const IB_ACCESS_LOCAL_WRITE = 1 << 0;
export const IB_ACCESS_REMOTE_WRITE = 1 << 1;
export const IB_ACCESS_REMOTE_READ = 1 << 2;
export const IB_ACCESS_REMOTE_ATOMIC = 1 << 3;
export const IB_ACCESS_MW_BIND = 1 << 4;
export const IB_ZERO_BASED = 1 << 5;
export const IB_ACCESS_ON_DEMAND = 1 << 6;
export const IB_ACCESS_HUGETLB = 1 << 7;
export const IB_ACCESS_RELAXED_ORDERING = 1 << 20;

/** Flags a user may pass to reg_mr (IB_ACCESS_SUPPORTED). */
export const IB_ACCESS_SUPPORTED =
  IB_ACCESS_LOCAL_WRITE |
  IB_ACCESS_REMOTE_WRITE |
  IB_ACCESS_REMOTE_READ |
  IB_ACCESS_REMOTE_ATOMIC |
  IB_ACCESS_MW_BIND |
  IB_ZERO_BASED |
  IB_ACCESS_ON_DEMAND |
  IB_ACCESS_HUGETLB |
  IB_ACCESS_RELAXED_ORDERING;

/** ib_access_writable(): may the device write through an MR with these flags? */
export function ibAccessWritable(access: number): boolean {
  return (
    (access & (IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_WRITE | IB_ACCESS_REMOTE_ATOMIC)) !== 0
  );
}

/** enum ib_odp_general_cap_bits. */
export const IB_ODP_SUPPORT = 1 << 0;
export const IB_ODP_SUPPORT_IMPLICIT = 1 << 1;

/** enum ib_odp_transport_cap_bits. */
export const IB_ODP_SUPPORT_SEND = 1 << 0;
export const IB_ODP_SUPPORT_RECV = 1 << 1;
export const IB_ODP_SUPPORT_WRITE = 1 << 2;
export const IB_ODP_SUPPORT_READ = 1 << 3;
export const IB_ODP_SUPPORT_ATOMIC = 1 << 4;
export const IB_ODP_SUPPORT_SRQ_RECV = 1 << 5;

/** struct ib_odp_caps. */
export interface IbOdpCaps {
  readonly generalCaps: number;
  readonly perTransportCaps: {
    readonly rcOdpCaps: number;
    readonly ucOdpCaps: number;
    readonly udOdpCaps: number;
    readonly xrcOdpCaps: number;
  };
}

/** No ODP at all: what a device without the feature reports. */
export const NO_ODP_CAPS: IbOdpCaps = {
  generalCaps: 0,
  perTransportCaps: { rcOdpCaps: 0, ucOdpCaps: 0, udOdpCaps: 0, xrcOdpCaps: 0 },
};

/** Registering the whole address space: ibv_reg_mr(pd, NULL, SIZE_MAX, ON_DEMAND). */
export const IMPLICIT_ODP_LENGTH = Number.MAX_SAFE_INTEGER;

/** enum ib_uverbs_advise_mr_advice. */
export type IbAdviseMrAdvice = "PREFETCH" | "PREFETCH_WRITE" | "PREFETCH_NO_FAULT";

/** IB_UVERBS_ADVISE_MR_FLAG_FLUSH: do the prefetch synchronously. */
export const IB_UVERBS_ADVISE_MR_FLAG_FLUSH = 1 << 0;

/** The largest length an SGE carries: ib_sge.length / ibv_sge.length are a u32. */
export const IB_SGE_LENGTH_MAX = 0xffff_ffff;

/**
 * Whether every SGE's length fits its u32 field. Through the real ABI a longer length
 * cannot be expressed at all; the verbs refuse one with -EINVAL rather than act on a
 * length no kernel or device would ever see.
 */
export function sgeLengthsFit(sgList: readonly { readonly length: number }[]): boolean {
  return sgList.every(
    (sge) => Number.isInteger(sge.length) && sge.length >= 0 && sge.length <= IB_SGE_LENGTH_MAX,
  );
}
