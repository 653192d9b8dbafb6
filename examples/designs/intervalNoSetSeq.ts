/**
 * A user's own mlx5 ODP design, plugged in with `--design`: the interval-notifier
 * generation (v5.10+), delegated to method by method, with one bug of the user's behind
 * the defect `user-invalidate-no-set-seq`.
 *
 * Models drivers/infiniband/hw/mlx5/odp.c (interval design) by wrapping odpsim's. The
 * bug: the umem's ->invalidate forgets to publish the new sequence number
 * (mmu_interval_set_seq gets the notifier's old one), so a fault's
 * mmu_interval_read_retry never sees the invalidation and installs pages it walked
 * before it: the retry check is skipped in effect. Implicit children are made inside
 * the interval design's fault path and keep its ops; the bug lives on explicit MRs.
 *
 *     odpsim explore fault-vs-invalidate --design examples/designs/intervalNoSetSeq.ts \
 *       --defect user-invalidate-no-set-seq
 */
import {
  intervalMlx5Odp,
  type IntervalUmemOdp,
  type Mlx5OdpDesign,
  type MmuIntervalNotifierOps,
} from "odpsim";

export const defects = ["user-invalidate-no-set-seq"];

/** The interval notifier's ops, with the user's bug switched on by the defect. */
function forgetfulOps(inner: MmuIntervalNotifierOps): MmuIntervalNotifierOps {
  return {
    name: `${inner.name}+user`,
    *invalidate(sub, range, curSeq) {
      const forget = sub.mm?.k.hasDefect("user-invalidate-no-set-seq") === true;
      return yield* inner.invalidate(sub, range, forget ? sub.invalidateSeq : curSeq);
    },
  };
}

const design: Mlx5OdpDesign<IntervalUmemOdp> = {
  core: intervalMlx5Odp.core,
  kernelSetup: (k) => {
    intervalMlx5Odp.kernelSetup(k);
  },
  allocUcontext: (dev, ctx) => {
    intervalMlx5Odp.allocUcontext(dev, ctx);
  },
  *regOdpMr(dev, pd, start, length, access) {
    const mr = yield* intervalMlx5Odp.regOdpMr(dev, pd, start, length, access);
    const notifier = typeof mr === "number" ? null : (mr.umem?.notifier ?? null);
    if (notifier !== null) notifier.ops = forgetfulOps(notifier.ops);
    return mr;
  },
  deregOdpMr: (mr) => intervalMlx5Odp.deregOdpMr(mr),
  pagefaultSingleDataSegment: (dev, pd, key, va, bcnt, flags, bytesMapped) =>
    intervalMlx5Odp.pagefaultSingleDataSegment(dev, pd, key, va, bcnt, flags, bytesMapped),
  ...(intervalMlx5Odp.prefetchHold === undefined
    ? {}
    : { prefetchHold: intervalMlx5Odp.prefetchHold }),
};

export default design;
