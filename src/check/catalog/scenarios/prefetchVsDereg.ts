/**
 * Catalog scenario: a thread asks for an asynchronous prefetch of an ODP MR while
 * another deregisters it. The prefetch work holds the MR outside SRCU, counted in
 * num_pending_prefetch; dereg clears `live`, waits for SRCU readers, and flushes the
 * prefetch work if the count is non-zero. Without SRCU around taking the MR, dereg can
 * read a zero count while the advise is about to count and queue, free the MR, and the
 * work (or the count itself) then touches freed memory, which object lifetimes catch.
 *
 * Models no kernel file.
 */
import type { KGen } from "../../../sim/task.ts";
import { ibvAdviseMr, ibvDeregMr } from "../../../rdma/core/verbs.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import type { Scenario } from "../../scenario.ts";
import { withOdpHost, setupDone, setupOdpBuffer, type OdpBuffer, type OdpHost } from "./odpHost.ts";

const PAGES = 2;
/** Async prefetches issued back to back: each is a chance to race the dereg. */
const ADVISES = 4;

export const prefetchVsDereg: Scenario = {
  name: "prefetch-vs-dereg",
  description:
    "prefetch-vs-dereg v1: 2-page anon ODP MR; advise: 4 async PREFETCH_WRITE of the MR " +
    "(stop at the first error); user: dereg_mr",
  build: (ctx) => withOdpHost(ctx, setup),
};

function* setup(host: OdpHost): KGen {
  const buf = yield* setupOdpBuffer(host, PAGES);
  setupDone(host);
  host.proc.spawnThread("advise", () => prefetchAll(buf));
  host.proc.spawnThread("user", () => ibvDeregMr(buf.mr));
}

/** ADVISES async PREFETCH_WRITE of the whole MR; stops at the first error. */
function* prefetchAll(buf: OdpBuffer): KGen {
  const sge = { addr: buf.addr, length: PAGES * PAGE_SIZE, lkey: buf.mr.lkey };
  for (let i = 0; i < ADVISES; i++) {
    if ((yield* ibvAdviseMr(buf.pd, "PREFETCH_WRITE", 0, [sge])) < 0) return;
  }
}
