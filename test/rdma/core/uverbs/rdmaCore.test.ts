import assert from "node:assert/strict";
import { test } from "node:test";
import type { KGen } from "../../../../src/sim/task.ts";
import { ufileDestroyUcontext } from "../../../../src/rdma/core/uverbs/rdmaCore.ts";
import { openDevice, ufileOf } from "../../../../src/check/catalog/uverbs/uverbsHost.ts";
import { host, runProcess } from "./fixture.ts";

test("ufile_destroy_ucontext runs under hw_destroy_rwsem for write, and says so when not", () => {
  for (const lock of ["none", "read", "write"] as const) {
    const h = host();
    const { violations } = runProcess(h, function* (p): KGen {
      const fd = yield* openDevice(h, p);
      const ufile = ufileOf(fd.file);
      const rwsem = ufile.hwDestroyRwsem;
      if (lock === "read") yield* rwsem.downRead();
      if (lock === "write") yield* rwsem.downWrite();
      yield* ufileDestroyUcontext(ufile, "close");
      if (lock === "read") rwsem.upRead();
      if (lock === "write") rwsem.upWrite();
      assert.equal(ufile.ucontext, null);
    });
    const kinds = violations.map((v) => v.kind);
    assert.deepEqual(kinds, lock === "write" ? [] : ["lock_not_held"], lock);
  }
});
