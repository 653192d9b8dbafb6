import assert from "node:assert/strict";
import { test } from "node:test";
import { mnItreeIsInvalidating } from "../../../src/mm/notifier/mnItree.ts";
import { MmuNotifierSubscriptionsState } from "../../../src/mm/notifier/mmuNotifierSubscriptions.ts";
import type { KGen } from "../../../src/sim/task.ts";
import { g, setup } from "./fixture.ts";

test("mn_itree_is_invalidating asserts subscriptions->lock", () => {
  const { k, mm } = setup({ stopOnViolation: false });
  const subs = new MmuNotifierSubscriptionsState(mm);
  const seen: boolean[] = [];
  k.spawn("reader", g, function* (): KGen {
    yield* subs.lock.lock();
    seen.push(mnItreeIsInvalidating(subs));
    subs.lock.unlock();
    seen.push(mnItreeIsInvalidating(subs));
  });
  const r = k.run();
  assert.deepEqual(seen, [false, false]);
  assert.deepEqual(
    r.violations.map((v) => v.kind),
    ["lock_not_held"],
  );
});
