/**
 * Catalog scenario: a thread issues asynchronous prefetches on the key the process's next
 * registration will get, while another thread registers that MR and deregisters it
 * again. The mkey is in the device's table before registration has finished setting the
 * MR up; `live` is what tells an advise (or a fault) that the setup is complete, so every
 * store of the setup must be visible before it. Where `live` can be seen first, an
 * advise counts itself in num_pending_prefetch and the setup's own reset of the count
 * then wipes that out: dereg sees no prefetch, frees the MR, and the queued work uses it.
 *
 * The advising thread guesses the key as anyone can: an mlx5 mkey is an index and a
 * variant byte, and the next registration takes the next index.
 *
 * Models no kernel file.
 */
import type { KGen } from "../../../sim/task.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import { ibvAdviseMr, ibvDeregMr, ibvRegMr } from "../../../rdma/core/verbs.ts";
import { mlx5MkeyAfter } from "../../../rdma/mlx5/mlx5IbDev.ts";
import type { Scenario } from "../../scenario.ts";
import { withOdpHost, setupDone, setupOdpBuffer, type OdpBuffer, type OdpHost } from "./odpHost.ts";

const PAGES = 2;
/** Advise attempts on the guessed key before the guessing thread gives up. */
const ATTEMPTS = 6;

export const prefetchVsReg: Scenario = {
  name: "prefetch-vs-reg",
  description:
    "prefetch-vs-reg v1: 2-page anon buffer with an ODP MR; advise: up to 6 async " +
    "PREFETCH_WRITE on the next MR's key (stop at the first success); user: reg_mr over " +
    "the buffer, then dereg_mr",
  build: (ctx) => withOdpHost(ctx, setup),
};

function* setup(host: OdpHost): KGen {
  const buf = yield* setupOdpBuffer(host, PAGES);
  setupDone(host);
  host.proc.spawnThread("advise", () => adviseGuessedKey(buf));
  host.proc.spawnThread("user", () => regAndDereg(buf));
}

function* adviseGuessedKey(buf: OdpBuffer): KGen {
  const sge = { addr: buf.addr, length: PAGES * PAGE_SIZE, lkey: mlx5MkeyAfter(buf.mr.lkey, 1) };
  for (let i = 0; i < ATTEMPTS; i++) {
    if ((yield* ibvAdviseMr(buf.pd, "PREFETCH_WRITE", 0, [sge])) === 0) return;
  }
}

function* regAndDereg(buf: OdpBuffer): KGen {
  const mr = yield* ibvRegMr(buf.pd, buf.addr, PAGES * PAGE_SIZE, buf.mr.access);
  if (typeof mr === "number") throw new Error(`reg_mr failed: ${mr}`);
  yield* ibvDeregMr(mr);
}
