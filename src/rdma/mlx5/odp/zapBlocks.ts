/**
 * Which MTT blocks an invalidation zaps.
 *
 * Models the block loop of mlx5_ib_invalidate_range() (drivers/infiniband/hw/mlx5/
 * odp.c), the same in every generation: UMRs write whole MLX5_UMR_MTT_ALIGNMENT blocks,
 * so runs of mapped entries are zapped together, a run ending at the first unmapped
 * entry that starts an aligned block.
 */
import {
  ODP_READ_ALLOWED_BIT,
  ODP_WRITE_ALLOWED_BIT,
  ibUmemStart,
  type IbUmemOdp,
} from "../../core/umemOdp.ts";
import { MLX5_UMR_MTT_BLOCK_ENTRIES } from "../mkey.ts";

/**
 * The blocks mlx5_ib_invalidate_range zaps: runs of mapped entries, a run ending at
 * the first unmapped entry that starts an aligned UMR block, the last run reaching to
 * the end of the range.
 */
export function zapBlocks(umem: IbUmemOdp, from: number, to: number): [number, number][] {
  const dma = umem.dmaList;
  if (dma === null) return [];
  const firstIdx = Math.floor((from - ibUmemStart(umem)) / umem.pageSize);
  const lastIdx = Math.ceil((to - ibUmemStart(umem)) / umem.pageSize) - 1;
  const blocks: [number, number][] = [];
  let blkStart = -1;
  let prev = -1;
  dma.forEachSet(firstIdx, lastIdx + 1, (idx, access) => {
    if ((access & (ODP_READ_ALLOWED_BIT | ODP_WRITE_ALLOWED_BIT)) === 0) return;
    if (blkStart >= 0) {
      const aligned =
        (Math.floor(prev / MLX5_UMR_MTT_BLOCK_ENTRIES) + 1) * MLX5_UMR_MTT_BLOCK_ENTRIES;
      if (aligned < idx) {
        blocks.push([blkStart, aligned - blkStart]);
        blkStart = -1;
      }
    }
    if (blkStart < 0) blkStart = idx;
    prev = idx;
  });
  if (blkStart >= 0) blocks.push([blkStart, lastIdx - blkStart + 1]);
  return blocks;
}
