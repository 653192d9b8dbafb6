/**
 * A fast-check fuzz of the public API (src/index.ts), imported as a user would: command
 * sequences a driver might issue on an mm and its MMU notifiers, right ones and wrong
 * ones (munmap of what was never mapped, an access after munmap, a notifier unregistered
 * twice or never registered, an interval notifier removed twice), run by one thread of a
 * process under a seeded random schedule, with a second thread of the same process
 * racing its own munmaps. Each command is one system call of the driver thread (an
 * ioctl of its driver), so a thread that SIGKILLed its own process issues no more: it
 * dies on its way back to user mode (before that was modelled here, its later notifier
 * calls touched the mm exit had freed: the sample's 13 use-after-frees). Each command gets an errno or a named violation; the run is
 * never an odpsim internal error (an exception out of the model).
 *
 * The same over umem_odp and the verbs, on an ODP host of each design: a driver thread
 * opens and closes the device, allocates PDs, registers and deregisters MRs (explicit,
 * implicit, bad flags), advises them, creates, drives and destroys CQs and QPs, and gets,
 * maps, unmaps and releases umems of its own, right and wrong (deregister twice, a verb
 * after close, a release twice, an unmap without umem_mutex), among the mm commands.
 *
 * `npm test` runs a fixed sample (seed 17, 300 sequences each); a longer search:
 * API_FUZZ_SEED=1 API_FUZZ_RUNS=5000 node --import tsx --test test/apiFuzz.test.ts
 * API_FUZZ_TALLY=1 prints how the runs ended on stderr: statuses, the first violation's
 * kind (the one a run stops at), every violation's kind, and each verb's errnos.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import fc from "fast-check";
import {
  EBADF,
  EBUSY,
  EINVAL,
  EIO,
  ENOENT,
  IB_ACCESS_HUGETLB,
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IB_ACCESS_REMOTE_READ,
  IB_ACCESS_REMOTE_WRITE,
  IB_SEND_SIGNALED,
  IB_UVERBS_ADVISE_MR_FLAG_FLUSH,
  IMPLICIT_ODP_LENGTH,
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  MmuIntervalNotifier,
  MmuNotifier,
  PAGE_SIZE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  ODP_READ_ALLOWED_BIT,
  ODP_WRITE_ALLOWED_BIT,
  Process,
  cpuRead,
  cpuWrite,
  errnoName,
  forkProcess,
  ibUmemOdpGet,
  ibUmemOdpMapDmaAndLock,
  ibUmemOdpRelease,
  ibUmemOdpUnmapDmaPages,
  ibvAdviseMr,
  ibvAllocPd,
  ibvCloseDevice,
  ibvCreateCq,
  ibvCreateQp,
  ibvDeregMr,
  ibvDestroyCq,
  ibvDestroyQp,
  ibvModifyQp,
  ibvOpenDevice,
  ibvPollCq,
  ibvPostRecv,
  ibvPostSend,
  ibvRegMr,
  killProcess,
  madvise,
  mmdrop,
  mmgrab,
  mmput,
  mmap,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalSetSeq,
  mmuNotifierRegister,
  mmuNotifierUnregister,
  mprotect,
  munmap,
  newHost,
  newOdpHost,
  runScenario,
  type IbCq,
  type IbMr,
  type IbPd,
  type IbQp,
  type IbQpState,
  type IbUcontext,
  type IntervalUmemOdp,
  type KGen,
  type MmStruct,
  type MmuNotifierRange,
  type OdpHost,
  type Scenario,
  type ScenarioRun,
} from "../src/index.ts";
// No strategy is exported; the public explore() names them. A run wants one instance.
import { UniformRandom } from "../src/sim/strategies/uniformRandom.ts";

/** Where a command aims: a buffer the sequence mapped (by index), or a fixed address. */
const target = fc.oneof(
  fc.record({ mapped: fc.nat(4) }),
  fc.record({ fixed: fc.constantFrom(0, PAGE_SIZE, 0x7000_0000, 0x7000_0123, 2 ** 47) }),
);
const pages = fc.integer({ min: 0, max: 4 });
const notifier = fc.nat(2); // one of three notifiers of each kind

const command = fc.oneof(
  fc.record({
    op: fc.constant("mmap" as const),
    pages,
    prot: fc.constantFrom(PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE),
    flags: fc.constantFrom(
      MAP_PRIVATE | MAP_ANONYMOUS,
      MAP_SHARED | MAP_ANONYMOUS,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
      0,
    ),
  }),
  fc.record({ op: fc.constant("munmap" as const), target, pages }),
  fc.record({ op: fc.constant("mprotect" as const), target, pages, prot: fc.nat(7) }),
  fc.record({ op: fc.constant("madvise" as const), target, pages }),
  fc.record({
    op: fc.constant("write" as const),
    target,
    bytes: fc.integer({ min: 0, max: 5000 }),
  }),
  fc.record({ op: fc.constant("read" as const), target, bytes: fc.integer({ min: 0, max: 5000 }) }),
  fc.record({ op: fc.constant("register" as const), notifier }),
  fc.record({ op: fc.constant("unregister" as const), notifier }),
  fc.record({ op: fc.constant("insert" as const), notifier, target, pages }),
  fc.record({ op: fc.constant("remove" as const), notifier }),
  fc.record({ op: fc.constant("kill" as const) }),
);
type Command = typeof command extends fc.Arbitrary<infer C> ? C : never;
type Target = typeof target extends fc.Arbitrary<infer T> ? T : never;

/** The driver thread's state: what it mapped and its notifiers. */
interface Driver {
  readonly mm: MmStruct;
  readonly mapped: number[];
  readonly notifiers: MmuNotifier[];
  readonly intervals: MmuIntervalNotifier[];
}

function addressOf(d: Driver, t: Target): number {
  if ("fixed" in t) return t.fixed;
  return d.mapped.length === 0 ? 0 : (d.mapped[t.mapped % d.mapped.length] ?? 0);
}

function* issue(d: Driver, c: Command, kill: () => KGen): KGen {
  const { mm } = d;
  switch (c.op) {
    case "mmap": {
      const hint = c.flags & MAP_FIXED ? (d.mapped[0] ?? 0x7000_0000) : 0;
      const addr = yield* mmap(mm, hint, c.pages * PAGE_SIZE, c.prot, c.flags);
      if (addr >= 0) d.mapped.push(addr);
      return;
    }
    case "munmap":
      yield* munmap(mm, addressOf(d, c.target), c.pages * PAGE_SIZE);
      return;
    case "mprotect":
      yield* mprotect(mm, addressOf(d, c.target), c.pages * PAGE_SIZE, c.prot);
      return;
    case "madvise":
      yield* madvise(mm, addressOf(d, c.target), c.pages * PAGE_SIZE, MADV_DONTNEED);
      return;
    case "write":
      yield* cpuWrite(mm, addressOf(d, c.target), new Uint8Array(c.bytes).fill(0x5a));
      return;
    case "read":
      yield* cpuRead(mm, addressOf(d, c.target), c.bytes);
      return;
    case "register":
      yield* mmuNotifierRegister(d.notifiers[c.notifier] ?? null, mm);
      return;
    case "unregister": {
      const sub = d.notifiers[c.notifier];
      if (sub !== undefined) yield* mmuNotifierUnregister(sub, mm);
      return;
    }
    case "insert": {
      const sub = d.intervals[c.notifier];
      if (sub === undefined) return;
      yield* mmuIntervalNotifierInsert(sub, mm, addressOf(d, c.target), c.pages * PAGE_SIZE);
      return;
    }
    case "remove": {
      const sub = d.intervals[c.notifier];
      if (sub !== undefined) yield* mmuIntervalNotifierRemove(sub);
      return;
    }
    case "kill":
      yield* kill();
      return;
  }
}

/** Another thread of the process unmaps what the driver mapped, racing it. */
function spawnUnmapper(
  proc: { spawnThread(name: string, body: () => KGen): unknown },
  d: Driver,
): void {
  proc.spawnThread("unmapper", function* () {
    for (let i = 0; i < 3; i++) {
      const addr = d.mapped[i];
      if (addr !== undefined) yield* munmap(d.mm, addr, PAGE_SIZE);
      else yield "unmapper: nothing mapped yet";
    }
  });
}

function apiScenario(commands: readonly Command[]): Scenario {
  return {
    name: "api-fuzz",
    description: `api-fuzz: ${JSON.stringify(commands)}`,
    build(ctx) {
      const { k, proc } = newHost(ctx);
      const mm = proc.mm;
      assert.ok(mm !== null);
      const d: Driver = {
        mm,
        mapped: [],
        notifiers: [0, 1, 2].map((n) => new MmuNotifier({ name: `fuzz_mn${n}` })),
        intervals: [0, 1, 2].map(
          (n) =>
            new MmuIntervalNotifier({
              name: `fuzz_interval${n}`,
              *invalidate(sub, _range, curSeq) {
                mmuIntervalSetSeq(sub, curSeq);
                return true;
              },
            }),
        ),
      };
      proc.spawnThread("driver", function* () {
        for (const c of commands) {
          k.exitToUserMode(); // each command is a system call: after a SIGKILL, none is
          yield* issue(d, c, () => killProcess(proc));
        }
      });
      spawnUnmapper(proc, d);
      return k;
    },
  };
}

/** How the fuzzed runs ended: statuses and violation kinds, printed with API_FUZZ_TALLY. */
const tally = new Map<string, number>();

function count(key: string): void {
  tally.set(key, (tally.get(key) ?? 0) + 1);
}

/** A fuzzed run: never an internal error; tallied by status and violation kind. */
function judge(suite: string, run: ScenarioRun): void {
  count(`${suite} status ${run.result.status}`);
  const first = run.violations[0];
  if (first !== undefined) count(`${suite} first violation ${first.kind}`);
  for (const v of run.violations) count(`${suite} violation ${v.kind}`);
  const error = run.result.internalError;
  assert.equal(error, null, `${error?.message ?? ""}\n${error?.stack ?? ""}`);
}

after(() => {
  if (process.env.API_FUZZ_TALLY === undefined) return;
  for (const [key, n] of [...tally].sort()) console.error(`${key}: ${n}`);
});

const fuzzParameters = {
  seed: Number(process.env.API_FUZZ_SEED ?? 17),
  numRuns: Number(process.env.API_FUZZ_RUNS ?? 300),
  includeErrorInReport: true,
};

test("the public API: any command sequence gives errnos or named violations, never an internal error", () => {
  fc.assert(
    fc.property(fc.array(command, { maxLength: 24 }), fc.nat(1000), (commands, seed) => {
      judge("mm", runScenario(apiScenario(commands), { seed, strategy: new UniformRandom() }));
    }),
    fuzzParameters,
  );
});

// ---- umem_odp and the verbs ------------------------------------------------------------

const slot = fc.nat(3); // which of the objects of a kind made so far (modulo their number)
const odpAccess = fc.constantFrom(
  IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_WRITE | IB_ACCESS_REMOTE_READ,
  IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IB_ACCESS_ON_DEMAND | IB_ACCESS_REMOTE_WRITE, // remote write without local write: EINVAL
  IB_ACCESS_ON_DEMAND | IB_ACCESS_HUGETLB | IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_LOCAL_WRITE, // pinned
  IB_ACCESS_HUGETLB, // hugetlb without ODP: EINVAL
  1 << 30, // unknown flag: EINVAL
);
// Lengths up to an SGE's u32 maximum, and one past it (refused: no ABI can carry it).
const bytes = fc.constantFrom(0, 1, 16, PAGE_SIZE, 3 * PAGE_SIZE + 5, 0xffff_ffff, 2 ** 40);
const qpStates: readonly IbQpState[] = ["RESET", "INIT", "RTR", "RTS", "ERR"];

const odpCommand = fc.oneof(
  command,
  fc.record({ op: fc.constant("open" as const) }),
  fc.record({ op: fc.constant("close" as const), ctx: slot }),
  fc.record({ op: fc.constant("allocPd" as const), ctx: slot }),
  fc.record({
    op: fc.constant("regMr" as const),
    pd: slot,
    target,
    pages,
    access: odpAccess,
    implicit: fc.boolean(),
  }),
  fc.record({ op: fc.constant("deregMr" as const), mr: slot }),
  fc.record({
    op: fc.constant("advise" as const),
    pd: slot,
    mr: slot,
    advice: fc.constantFrom(
      "PREFETCH" as const,
      "PREFETCH_WRITE" as const,
      "PREFETCH_NO_FAULT" as const,
    ),
    flush: fc.boolean(),
    target,
    bytes,
  }),
  fc.record({
    op: fc.constant("createCq" as const),
    ctx: slot,
    cqe: fc.integer({ min: 0, max: 8 }),
  }),
  fc.record({ op: fc.constant("destroyCq" as const), cq: slot }),
  fc.record({ op: fc.constant("pollCq" as const), cq: slot }),
  fc.record({ op: fc.constant("createQp" as const), pd: slot, cq: slot, ud: fc.boolean() }),
  fc.record({ op: fc.constant("modifyQp" as const), qp: slot, state: fc.nat(qpStates.length - 1) }),
  fc.record({
    op: fc.constant("postSend" as const),
    qp: slot,
    mr: slot,
    opcode: fc.constantFrom("SEND" as const, "RDMA_WRITE" as const, "RDMA_READ" as const),
    target,
    bytes,
  }),
  fc.record({ op: fc.constant("postRecv" as const), qp: slot, mr: slot, target, bytes }),
  fc.record({ op: fc.constant("destroyQp" as const), qp: slot }),
  fc.record({ op: fc.constant("umemGet" as const), ctx: slot, target, pages, access: odpAccess }),
  fc.record({
    op: fc.constant("umemMap" as const),
    umem: slot,
    target,
    bytes,
    write: fc.boolean(),
    fault: fc.boolean(),
    unlock: fc.boolean(), // false: the driver forgets umem_mutex, which map left held
  }),
  fc.record({
    op: fc.constant("umemUnmap" as const),
    umem: slot,
    target,
    bytes,
    locked: fc.boolean(),
  }),
  fc.record({ op: fc.constant("umemRelease" as const), umem: slot }),
);
type OdpCommand = typeof odpCommand extends fc.Arbitrary<infer C> ? C : never;

/** The driver thread's verbs objects and umems, besides its mm state. */
interface OdpDriver extends Driver {
  readonly host: OdpHost;
  readonly contexts: IbUcontext[];
  readonly pds: IbPd[];
  readonly mrs: IbMr[];
  readonly cqs: IbCq[];
  readonly qps: IbQp[];
  readonly umems: IntervalUmemOdp[];
}

function pick<T>(list: readonly T[], i: number): T | undefined {
  return list.length === 0 ? undefined : list[i % list.length];
}

/** The driver's interval ->invalidate, as mlx5's: under umem_mutex, seq, then unmap. */
function* umemInvalidate(
  umem: IntervalUmemOdp,
  range: MmuNotifierRange,
  curSeq: number,
): KGen<boolean> {
  if (!range.blockable) return false;
  yield* umem.umemMutex.lock();
  mmuIntervalSetSeq(umem.notifier, curSeq);
  yield* ibUmemOdpUnmapDmaPages(umem, range.start, range.end);
  umem.umemMutex.unlock();
  return true;
}

function sge(d: OdpDriver, mrSlot: number, t: Target, length: number) {
  return { addr: addressOf(d, t), length, lkey: pick(d.mrs, mrSlot)?.lkey ?? 0 };
}

/** One command of the driver, its outcome tallied (`odp <op> ok` / `odp <op> ENOENT`). */
function* issueVerb(d: OdpDriver, c: OdpCommand, kill: () => KGen): KGen {
  const ret: unknown = yield* issueVerbOnce(d, c, kill);
  if (typeof ret === "number") count(`odp ${c.op} ${ret < 0 ? errnoName(ret) : "ok"}`);
  else if (ret !== undefined) count(`odp ${c.op} ok`);
}

function* issueVerbOnce(d: OdpDriver, c: OdpCommand, kill: () => KGen): KGen<unknown> {
  const { proc, udev } = d.host;
  switch (c.op) {
    case "open":
      return keep(d.contexts, yield* ibvOpenDevice(udev, proc));
    case "close": {
      const ctx = pick(d.contexts, c.ctx);
      return ctx === undefined ? undefined : yield* ibvCloseDevice(ctx, proc);
    }
    case "allocPd": {
      const ctx = pick(d.contexts, c.ctx);
      return ctx === undefined ? undefined : keep(d.pds, ibvAllocPd(ctx));
    }
    case "regMr": {
      const pd = pick(d.pds, c.pd);
      if (pd === undefined) return undefined;
      const [addr, len] = c.implicit
        ? [0, IMPLICIT_ODP_LENGTH]
        : [addressOf(d, c.target), c.pages * PAGE_SIZE];
      return keep(d.mrs, yield* ibvRegMr(pd, addr, len, c.access));
    }
    case "deregMr": {
      const mr = pick(d.mrs, c.mr); // the slot stays: a second dereg is misuse
      return mr === undefined ? undefined : yield* ibvDeregMr(mr);
    }
    case "advise": {
      const pd = pick(d.pds, c.pd);
      if (pd === undefined) return undefined;
      const flags = c.flush ? IB_UVERBS_ADVISE_MR_FLAG_FLUSH : 0;
      return yield* ibvAdviseMr(pd, c.advice, flags, [sge(d, c.mr, c.target, c.bytes)]);
    }
    case "createCq": {
      const ctx = pick(d.contexts, c.ctx);
      return ctx === undefined ? undefined : keep(d.cqs, ibvCreateCq(ctx, c.cqe));
    }
    case "destroyCq": {
      const cq = pick(d.cqs, c.cq);
      return cq === undefined ? undefined : ibvDestroyCq(cq);
    }
    case "pollCq": {
      const cq = pick(d.cqs, c.cq);
      return cq === undefined ? undefined : ibvPollCq(cq, 4).length;
    }
    case "createQp": {
      const pd = pick(d.pds, c.pd);
      const cq = pick(d.cqs, c.cq);
      if (pd === undefined || cq === undefined) return undefined;
      const init = { qpType: c.ud ? "UD" : "RC", sendCq: cq, recvCq: cq, maxSendWr: 4 } as const;
      return keep(d.qps, yield* ibvCreateQp(pd, { ...init, maxRecvWr: 4 }));
    }
    case "modifyQp": {
      const qp = pick(d.qps, c.qp);
      const qpState = qpStates[c.state] ?? "RESET";
      if (qp === undefined) return undefined;
      // ibv_modify_qp to qpState; "RTS" walks the whole ladder there, as a program does.
      const ladder = qpState === "RTS" ? (["INIT", "RTR", "RTS"] as const) : [qpState];
      let ret = 0;
      for (const state of ladder) {
        ret = yield* ibvModifyQp(qp, { qpState: state, destQpNum: qp.qpNum, qkey: 1 });
      }
      return ret;
    }
    case "postSend": {
      const qp = pick(d.qps, c.qp);
      if (qp === undefined) return undefined;
      const sg = sge(d, c.mr, c.target, c.bytes);
      return ibvPostSend(qp, {
        wrId: 1,
        opcode: c.opcode,
        sgList: [sg],
        sendFlags: IB_SEND_SIGNALED,
        remoteAddr: sg.addr,
        rkey: sg.lkey,
        ah: { dlid: 0 },
        remoteQpn: qp.qpNum,
        remoteQkey: 1,
      });
    }
    case "postRecv": {
      const qp = pick(d.qps, c.qp);
      if (qp === undefined) return undefined;
      return ibvPostRecv(qp, { wrId: 2, sgList: [sge(d, c.mr, c.target, c.bytes)] });
    }
    case "destroyQp": {
      const qp = pick(d.qps, c.qp);
      return qp === undefined ? undefined : yield* ibvDestroyQp(qp);
    }
    case "umemGet": {
      const ctx = pick(d.contexts, c.ctx);
      if (ctx === undefined) return undefined;
      const ops = { invalidate: umemInvalidate };
      const addr = addressOf(d, c.target);
      return keep(d.umems, yield* ibUmemOdpGet(ctx, addr, c.pages * PAGE_SIZE, c.access, ops));
    }
    case "umemMap": {
      const umem = pick(d.umems, c.umem);
      if (umem === undefined) return undefined;
      const mask = ODP_READ_ALLOWED_BIT | (c.write ? ODP_WRITE_ALLOWED_BIT : 0);
      const addr = addressOf(d, c.target);
      const ret = yield* ibUmemOdpMapDmaAndLock(umem, addr, c.bytes, mask, c.fault);
      if (ret >= 0 && c.unlock) umem.umemMutex.unlock();
      return ret;
    }
    case "umemUnmap": {
      const umem = pick(d.umems, c.umem);
      if (umem === undefined) return undefined;
      const addr = addressOf(d, c.target);
      if (c.locked) yield* umem.umemMutex.lock();
      yield* ibUmemOdpUnmapDmaPages(umem, addr, addr + c.bytes);
      if (c.locked) umem.umemMutex.unlock();
      return 0;
    }
    case "umemRelease": {
      const umem = pick(d.umems, c.umem);
      if (umem !== undefined) yield* ibUmemOdpRelease(umem);
      return umem === undefined ? undefined : 0;
    }
    default:
      yield* issue(d, c, kill);
      return undefined;
  }
}

/** Keeps a made object in its list; the result as made (an object, or an errno). */
function keep<T>(list: T[], made: T | number): T | number {
  if (typeof made !== "number") list.push(made);
  return made;
}

/** Where every sequence starts, so commands meet live objects: a context, a PD, a CQ, a buffer. */
const PROLOGUE: readonly OdpCommand[] = [
  { op: "open" },
  { op: "allocPd", ctx: 0 },
  { op: "createCq", ctx: 0, cqe: 8 },
  { op: "mmap", pages: 4, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS },
];

function* odpPrologue(d: OdpDriver): KGen {
  for (const c of PROLOGUE) yield* issueVerb(d, c, () => undefined as never);
}

const DESIGNS = ["classic", "hmm-mirror", "interval"] as const;

function odpApiScenario(commands: readonly OdpCommand[]): Scenario {
  return {
    name: "api-fuzz-odp",
    description: `api-fuzz-odp: ${JSON.stringify(commands)}`,
    build(ctx) {
      const host = newOdpHost(ctx);
      const { k, proc } = host;
      const mm = proc.mm;
      assert.ok(mm !== null);
      const d: OdpDriver = {
        mm,
        mapped: [],
        notifiers: [0, 1, 2].map((n) => new MmuNotifier({ name: `fuzz_mn${n}` })),
        intervals: [],
        host,
        contexts: [],
        pds: [],
        mrs: [],
        cqs: [],
        qps: [],
        umems: [],
      };
      proc.spawnThread("driver", function* () {
        yield* odpPrologue(d);
        for (const c of commands) {
          k.exitToUserMode();
          yield* issueVerb(d, c, () => killProcess(proc));
        }
      });
      spawnUnmapper(proc, d);
      return k;
    },
  };
}

test("umem_odp and the verbs: any command sequence gives errnos or named violations, never an internal error", () => {
  fc.assert(
    fc.property(
      fc.array(odpCommand, { minLength: 4, maxLength: 32, size: "max" }),
      fc.nat(1000),
      fc.constantFrom(...DESIGNS),
      (commands, seed, design) => {
        const settings = { seed, strategy: new UniformRandom(), design };
        judge(`odp ${design}`, runScenario(odpApiScenario(commands), settings));
      },
    ),
    fuzzParameters,
  );
});

/** One scenario whose single thread runs `body` on a fresh host; its run's result. */
function runBody(body: (d: Driver, kill: () => KGen) => KGen) {
  const scenario: Scenario = {
    name: "api-regression",
    description: "api-regression",
    build(ctx) {
      const { k, proc } = newHost(ctx);
      const mm = proc.mm;
      assert.ok(mm !== null);
      const d: Driver = { mm, mapped: [], notifiers: [], intervals: [] };
      proc.spawnThread("driver", () => body(d, () => killProcess(proc)));
      return k;
    },
  };
  return runScenario(scenario, { seed: 0, strategy: new UniformRandom() });
}

const intervalOps = {
  name: "regression_interval",
  *invalidate(sub: MmuIntervalNotifier, _range: unknown, curSeq: number): KGen<boolean> {
    mmuIntervalSetSeq(sub, curSeq);
    return true;
  },
};

test("regression: a thread that SIGKILLs its own process tears it down and dies", () => {
  const run = runBody(function* (d, kill) {
    yield* kill();
    d.mapped.push(1); // not reached: the sender dies on its way back to user mode
  });
  assert.equal(run.result.status, "ok", run.result.internalError?.message);
});

test("regression: removing an interval notifier never inserted is a bug_on, not a crash", () => {
  const run = runBody(function* () {
    yield* mmuIntervalNotifierRemove(new MmuIntervalNotifier(intervalOps));
  });
  assert.equal(run.result.status, "violation", run.result.internalError?.message);
  assert.deepEqual(
    run.violations.map((v) => v.kind),
    ["bug_on"],
  );
});

test("regression: inserting an interval notifier already inserted is a bug_on, not a crash", () => {
  const run = runBody(function* (d) {
    const sub = new MmuIntervalNotifier(intervalOps);
    assert.equal(yield* mmuIntervalNotifierInsert(sub, d.mm, 0, PAGE_SIZE), 0);
    yield* mmuIntervalNotifierInsert(sub, d.mm, 0, PAGE_SIZE);
  });
  assert.equal(run.result.status, "violation", run.result.internalError?.message);
  assert.match(run.violations[0]?.message ?? "", /inserted while inserted/);
});

// Found by API_FUZZ_SEED=6 API_FUZZ_RUNS=5000, which spun for ever: the second
// registration linked the notifier's node to itself, and the next walk of the list never
// ended (without taking a step, so the step bound could not stop it).
test("regression: registering an mmu_notifier already registered is a bug_on, not a hang", () => {
  const run = runBody(function* (d) {
    const a = new MmuNotifier({ name: "regression_a" });
    const b = new MmuNotifier({ name: "regression_b" });
    assert.equal(yield* mmuNotifierRegister(b, d.mm), 0);
    assert.equal(yield* mmuNotifierRegister(a, d.mm), 0);
    yield* mmuNotifierRegister(a, d.mm);
    yield* mmuNotifierUnregister(b, d.mm);
  });
  assert.equal(run.result.status, "violation", run.result.internalError?.message);
  assert.match(run.violations[0]?.message ?? "", /registered while registered/);
});

// The API fuzz's use-after-frees of the mm (13 in the sample) were all this driver bug:
// the second unregister drops the registration's mm_count once more, and the mm is freed
// under its process. It is named at the second unregister.
test("regression: an mmu_notifier unregistered twice is named at the second unregister", () => {
  const run = runBody(function* (d) {
    const sub = new MmuNotifier({ name: "regression_twice" });
    assert.equal(yield* mmuNotifierRegister(sub, d.mm), 0);
    yield* mmuNotifierUnregister(sub, d.mm);
    yield* mmuNotifierUnregister(sub, d.mm);
  });
  assert.deepEqual(
    run.violations.map((v) => v.kind),
    ["mmu_notifier_unregistered_twice"],
  );
  assert.match(run.violations[0]?.message ?? "", /regression_twice removed twice/);
});

test("regression: unregistering after exit_mmap released the notifier is no violation", () => {
  const run = runBody(function* (d) {
    // A child with no threads: its mm's only user is the reference this thread drops.
    const child = yield* forkProcess(new Process(d.mm.k, d.mm.phys, d.mm));
    assert.ok(typeof child !== "number" && child.mm !== null);
    const mm = child.mm;
    const sub = new MmuNotifier({ name: "regression_released" });
    assert.equal(yield* mmuNotifierRegister(sub, mm), 0);
    mmgrab(mm); // the driver's own hold on the mm struct, across the exit
    yield* mmput(mm); // the last mm_users: exit_mmap releases (unlinks) the notifier
    yield* mmuNotifierUnregister(sub, mm); // still owed: it drops the registration's mm_count
    mmdrop(mm);
  });
  assert.equal(run.result.status, "ok", run.violations[0]?.message);
});

/** One run on an ODP host of `design` whose thread opens the device, a PD and a buffer. */
function runOdpBody(
  design: string,
  body: (pd: IbPd, buf: number, d: { host: OdpHost; ctx: IbUcontext }) => KGen,
): ScenarioRun {
  const scenario: Scenario = {
    name: "api-regression-odp",
    description: "api-regression-odp",
    build(ctx) {
      const host = newOdpHost(ctx);
      host.proc.spawnThread("driver", function* () {
        const mm = host.proc.mm;
        assert.ok(mm !== null);
        const uctx = yield* ibvOpenDevice(host.udev, host.proc);
        assert.ok(typeof uctx !== "number");
        const pd = ibvAllocPd(uctx);
        assert.ok(typeof pd !== "number");
        const buf = yield* mmap(
          mm,
          0,
          4 * PAGE_SIZE,
          PROT_READ | PROT_WRITE,
          MAP_PRIVATE | MAP_ANONYMOUS,
        );
        yield* body(pd, buf, { host, ctx: uctx });
      });
      return host.k;
    },
  };
  return runScenario(scenario, { seed: 0, strategy: new UniformRandom(), design });
}

const ODP_RW = IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE;

// Found by the API fuzz (seed 17): a prefetch of an address past the MR's end made a
// negative size (min(bcnt, end - va)), and the UMR slept for a negative time. The kernel's
// size_t arithmetic keeps bcnt there, and the map's range check says -EFAULT.
for (const design of DESIGNS) {
  test(`regression (${design}): a prefetch past an MR's end fails, not a crash`, () => {
    const run = runOdpBody(design, function* (pd, buf) {
      const mr = yield* ibvRegMr(pd, buf, PAGE_SIZE, ODP_RW);
      assert.ok(typeof mr !== "number");
      const sg = [{ addr: buf + 2 * PAGE_SIZE, length: 16, lkey: mr.lkey }];
      const flush = IB_UVERBS_ADVISE_MR_FLAG_FLUSH;
      assert.ok((yield* ibvAdviseMr(pd, "PREFETCH", flush, sg)) < 0);
      assert.equal(yield* ibvDeregMr(mr), 0);
    });
    assert.equal(
      run.result.status,
      "ok",
      run.result.internalError?.message ?? run.violations[0]?.message,
    );
  });
}

// Found by the API fuzz (seed 2): a 1 TiB prefetch of an implicit MR ran the process out of
// memory. An SGE's length is a u32 in the ABI; a longer one is refused.
test("regression: an SGE longer than a u32 is -EINVAL", () => {
  const run = runOdpBody("interval", function* (pd, buf) {
    const mr = yield* ibvRegMr(pd, 0, IMPLICIT_ODP_LENGTH, ODP_RW);
    assert.ok(typeof mr !== "number");
    const sg = [{ addr: buf, length: 2 ** 40, lkey: mr.lkey }];
    assert.equal(yield* ibvAdviseMr(pd, "PREFETCH", 0, sg), EINVAL);
    assert.equal(yield* ibvDeregMr(mr), 0);
  });
  assert.equal(run.result.status, "ok", run.result.internalError?.message);
});

test("regression: a umem released twice is a use-after-free at the second release", () => {
  const run = runOdpBody("interval", function* (_pd, buf, { ctx }) {
    const umem = yield* ibUmemOdpGet(ctx, buf, PAGE_SIZE, ODP_RW);
    assert.ok(typeof umem !== "number");
    yield* ibUmemOdpRelease(umem);
    yield* ibUmemOdpRelease(umem);
  });
  assert.deepEqual(
    run.violations.map((v) => [v.kind, v.details.access]),
    [["use_after_free", "ib_umem_odp_release"]],
  );
});

test("misuse: a verb after ibv_close_device is -EIO, a second close -EBADF", () => {
  const run = runOdpBody("interval", function* (pd, buf, { host, ctx }) {
    const mr = yield* ibvRegMr(pd, buf, PAGE_SIZE, ODP_RW);
    assert.ok(typeof mr !== "number");
    assert.equal(yield* ibvCloseDevice(ctx, host.proc), 0);
    assert.equal(yield* ibvCloseDevice(ctx, host.proc), EBADF);
    yield* host.k.sleep(1); // the delayed fput's close destroys the MR the context held
    assert.equal(yield* ibvRegMr(pd, buf, PAGE_SIZE, ODP_RW), EIO);
    assert.equal(yield* ibvDeregMr(mr), EIO);
  });
  assert.equal(
    run.result.status,
    "ok",
    run.result.internalError?.message ?? run.violations[0]?.message,
  );
});

test("misuse: a CQ destroyed twice is -ENOENT, under a live QP -EBUSY", () => {
  const run = runOdpBody("interval", function* (pd, _buf, { ctx }) {
    const cq = ibvCreateCq(ctx, 4);
    const qp = yield* ibvCreateQp(pd, { qpType: "RC", sendCq: cq, recvCq: cq });
    assert.ok(typeof qp !== "number");
    assert.equal(ibvDestroyCq(cq), EBUSY);
    assert.equal(yield* ibvDestroyQp(qp), 0);
    assert.equal(ibvDestroyCq(cq), 0);
    assert.equal(ibvDestroyCq(cq), ENOENT);
  });
  assert.equal(
    run.result.status,
    "ok",
    run.result.internalError?.message ?? run.violations[0]?.message,
  );
});
