/**
 * The virtual-time cost of what the device and driver do, and the link parameter that
 * shapes it (the MTU).
 *
 * Models no kernel file: these are odpsim's parameters, each charged to the virtual
 * clock when the modelled operation happens. Defaults are round figures in the range of
 * published measurements (see README, "Cost model"); a scenario may override any.
 */
export interface CostModel {
  /** A UMR work request updating an mkey's translation (post + completion). */
  readonly umrNs: number;
  /** Per MTT entry written by a UMR. */
  readonly umrPerEntryNs: number;
  /** Device page-fault round trip: EQE delivery to the driver until the resume. */
  readonly pageFaultNs: number;
  /** DMA of one byte over PCIe. */
  readonly dmaPerByteNs: number;
  /** One wire hop between hosts. */
  readonly wireHopNs: number;
  /** One byte on the wire (100 Gb/s is 0.08 ns per byte). */
  readonly wirePerByteNs: number;
  /**
   * The port's active MTU in payload bytes: a QP's packets carry at most the smaller of
   * this and its path_mtu, so a longer RC message is several packets, each paying its
   * own header on the wire.
   */
  readonly mtu: number;
}

export const DEFAULT_COST_MODEL: CostModel = {
  umrNs: 2_000,
  umrPerEntryNs: 2,
  pageFaultNs: 20_000,
  dmaPerByteNs: 0.05,
  wireHopNs: 500,
  wirePerByteNs: 0.08,
  // IB_MTU_4096: the active MTU mlx5 InfiniBand ports report (ibv_devinfo active_mtu
  // 4096); the largest MTU InfiniBand defines.
  mtu: 4096,
};
