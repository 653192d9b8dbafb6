/**
 * The scenario language: the shape of a YAML scenario file, as a zod 4 schema.
 *
 * Models no kernel file. A scenario describes the machine (hosts and their NICs), the
 * programs (processes, their setup and their threads of operations), the interlock
 * design and the historical defects to switch on, and what the run is expected to show.
 * This file is the single source of the language: `npm run schema` turns it into
 * schema/scenario.schema.json for editor completion, and parse.ts validates files with
 * it. Structural rules live here; rules that need names or sizes (does that buffer
 * exist, is the offset inside it) live in validate.ts.
 *
 * Conventions: fields are camelCase (`hugetlbPages`, `odpCaps`), operation names are the
 * snake_case of the syscall or verb they stand for (`cpu_write`, `dereg_mr`). Offsets
 * and sizes in bytes are `offset` / `bytes`; page counts are `pages` (4 KiB pages).
 */
import { z } from "zod";
import { UVERBS_MMAP_DESIGN_NAMES } from "../rdma/core/uverbs/designs.ts";
import {
  DEFAULT_MLX5_ODP_DESIGN,
  DESIGN_MODULE_PATTERN,
  MLX5_ODP_DESIGN_NAMES,
} from "../rdma/mlx5/odp/designs.ts";

/** The page size every count of `pages` is in. */
export const SCENARIO_PAGE_SIZE = 4096;

const ident = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, "a name: letters, digits, '_', '.', '-'")
  .describe("A name other parts of the scenario refer to.");

const byteValue = z.int().min(0).max(255).describe("A byte value, 0..255 (0xa0 works).");
const offset = z.int().min(0).describe("Byte offset from the start of the buffer or MR.");
const bytes = z.int().min(1).max(1_048_576).describe("Length in bytes.");
const pages = z.int().min(1).max(1_048_576).describe("Length in 4 KiB pages.");

// ---------------------------------------------------------------------------------------
// Hosts

const costSchema = z
  .strictObject({
    umrNs: z.number().min(0).optional().describe("A UMR work request (post + completion)."),
    umrPerEntryNs: z.number().min(0).optional().describe("Per MTT entry a UMR writes."),
    pageFaultNs: z.number().min(0).optional().describe("Device page-fault round trip."),
    dmaPerByteNs: z.number().min(0).optional().describe("DMA of one byte over PCIe."),
    wireHopNs: z.number().min(0).optional().describe("One wire hop between hosts."),
    wirePerByteNs: z.number().min(0).optional().describe("One byte on the wire."),
  })
  .describe("Virtual-time costs of the NIC (README, 'Cost model'); unset fields keep defaults.");

export const TRANSPORT_CAPS = ["send", "recv", "write", "read", "atomic", "srq_recv"] as const;
const transportCaps = z.array(z.enum(TRANSPORT_CAPS));

const odpCapsSchema = z
  .strictObject({
    odp: z.boolean().optional().describe("IB_ODP_SUPPORT (default true)."),
    implicit: z.boolean().optional().describe("IB_ODP_SUPPORT_IMPLICIT (default true)."),
    rc: transportCaps.optional().describe("RC transport caps (default send, recv, write, read)."),
    uc: transportCaps.optional(),
    ud: transportCaps.optional().describe("UD transport caps (default send)."),
    xrc: transportCaps.optional(),
  })
  .describe("The ODP capabilities the NIC reports (struct ib_odp_caps).");

const nicSchema = z.strictObject({
  name: ident.optional().describe("The IB device name (default mlx5_0)."),
  odpCaps: odpCapsSchema.optional(),
  cost: costSchema.optional(),
});

const hostSchema = z.strictObject({
  name: ident,
  frames: z.int().min(16).max(16_777_216).optional().describe("Frames of RAM (default 256)."),
  hugetlbPages: z.int().min(0).optional().describe("The hugetlb pool, in 2 MiB pages."),
  nic: nicSchema.optional().describe("The host's mlx5-like NIC (one per host)."),
});

// ---------------------------------------------------------------------------------------
// Process setup

export const PROTS = ["read", "write", "exec"] as const;
const protSchema = z.array(z.enum(PROTS)).describe("PROT_* bits; an empty list is PROT_NONE.");

export const MAP_FLAGS = ["private", "shared", "anonymous", "file", "hugetlb"] as const;

const fileSchema = z.strictObject({
  name: ident,
  pages: pages,
  shmem: z.boolean().optional().describe("A shmem (tmpfs) file: no disk behind it."),
  fill: byteValue.optional().describe("Initial contents: every byte this value."),
});

const bufferSchema = z.strictObject({
  name: ident,
  pages: pages,
  prot: protSchema.optional().describe("Default [read, write]."),
  flags: z
    .array(z.enum(MAP_FLAGS))
    .optional()
    .describe("MAP_* flags; default [private, anonymous]. 'file' needs `file`."),
  file: ident.optional().describe("The file to map (implies the 'file' flag)."),
  fileOffset: z.int().min(0).optional().describe("Byte offset into the file (page-aligned)."),
  fill: byteValue
    .optional()
    .describe("Write this byte over the whole buffer from the CPU during setup."),
});

export const ACCESS_FLAGS = [
  "LOCAL_WRITE",
  "REMOTE_WRITE",
  "REMOTE_READ",
  "REMOTE_ATOMIC",
  "ON_DEMAND",
  "HUGETLB",
] as const;

/** The access of a registration that does not say (what the catalog scenarios use). */
export const DEFAULT_ACCESS: readonly (typeof ACCESS_FLAGS)[number][] = [
  "LOCAL_WRITE",
  "REMOTE_WRITE",
  "REMOTE_READ",
  "ON_DEMAND",
];

const registrationSchema = z.strictObject({
  name: ident,
  buffer: ident.optional().describe("The buffer the MR covers (not for an implicit MR)."),
  offset: offset.optional().describe("Where the MR starts in the buffer (default 0)."),
  bytes: bytes.optional().describe("MR length (default: to the end of the buffer)."),
  access: z
    .array(z.enum(ACCESS_FLAGS))
    .optional()
    .describe("IB_ACCESS_* flags; default LOCAL_WRITE, REMOTE_WRITE, REMOTE_READ, ON_DEMAND."),
  implicit: z
    .boolean()
    .optional()
    .describe("Implicit ODP: the whole address space (no buffer, offset or bytes)."),
});

const qpSchema = z.strictObject({
  name: ident,
  connect: z
    .strictObject({
      process: ident.describe("The process the peer QP belongs to (on any host)."),
      qp: ident.describe("The peer QP's name in that process."),
    })
    .optional()
    .describe("Connect this RC QP to that one (INIT, RTR, RTS on both) after every setup."),
  depth: z
    .int()
    .min(1)
    .max(1024)
    .optional()
    .describe("Work requests each queue holds (max_send_wr, max_recv_wr; default 16)."),
  timeout: z
    .int()
    .min(0)
    .max(31)
    .optional()
    .describe(
      "Local ACK timeout exponent: 4.096 us * 2^timeout (default 14, 67 ms); 0 = no timer. " +
        "Under free timing a finite timeout may expire before the peer answers, up to retry_cnt (7) + 1 times: IBV_WC_RETRY_EXC_ERR.",
    ),
});

const mirrorSchema = z
  .strictObject({ name: ident })
  .describe(
    "open() of the host's HMM test device (lib/test_hmm.c, /dev/hmm_dmirror0): a dmirror " +
      "mirroring this process's whole address space, kept in its file table.",
  );

const userptrSchema = z
  .strictObject({
    name: ident,
    buffer: ident.describe("The buffer whose range the object covers."),
    offset: offset.optional().describe("Byte offset in the buffer, page-aligned (default 0)."),
    pages: pages.optional().describe("Default: to the end of the buffer."),
  })
  .describe(
    "An i915 GEM userptr object (DRM_IOCTL_I915_GEM_USERPTR) over the range, active (its " +
      "pages got, as a GPU-bound object's are): the process's i915 mmu_notifier, registered " +
      "with its first object, refuses a non-blockable invalidation that covers an active object.",
  );

const setupSchema = z.strictObject({
  files: z.array(fileSchema).optional(),
  buffers: z.array(bufferSchema).optional().describe("mmap()s made before the threads start."),
  registrations: z.array(registrationSchema).optional().describe("ibv_reg_mr()s."),
  qps: z
    .array(qpSchema)
    .optional()
    .describe("RC QPs, each with its own CQ (ibv_create_cq, ibv_create_qp)."),
  mirrors: z
    .array(mirrorSchema)
    .optional()
    .describe("HMM test device files (dmirror), opened after the buffers."),
  userptrs: z
    .array(userptrSchema)
    .optional()
    .describe("i915 GEM userptr objects, created after the registrations and QPs."),
});

// ---------------------------------------------------------------------------------------
// Operations

const dataMatch = {
  pattern: byteValue.optional().describe("Every byte equals this value."),
  text: z.string().optional().describe("The bytes are this UTF-8 text."),
  hex: z
    .string()
    .regex(/^([0-9a-fA-F]{2}\s*)+$/, "hex bytes such as 'de ad be ef'")
    .optional()
    .describe("The bytes, in hex."),
};

export const SIGNALS = ["none", "any", "SIGSEGV", "SIGBUS", "OOM"] as const;
const signal = z
  .enum(SIGNALS)
  .describe("What the CPU access may raise: none (the default), any, or one signal.");

const cpuReadSchema = z.strictObject({
  buffer: ident,
  offset: offset.optional(),
  bytes: bytes,
  expect: z
    .strictObject({ ...dataMatch, signal: signal.optional() })
    .optional()
    .describe("What the load must return (or the signal it must raise)."),
});

const writeData = {
  bytes: bytes.optional().describe("How many bytes (with `pattern`)."),
  pattern: byteValue.optional().describe("Write `bytes` bytes of this value."),
  text: z.string().min(1).optional().describe("Write this UTF-8 text."),
};

const cpuWriteSchema = z.strictObject({
  buffer: ident,
  offset: offset.optional(),
  ...writeData,
  expect: z.strictObject({ signal: signal.optional() }).optional(),
});

/** What a system call or verb may return: success, either, or this errno. */
export const CALL_ERRORS = [
  "none",
  "any",
  "EINVAL",
  "ENOMEM",
  "EFAULT",
  "EPERM",
  "EACCES",
  "EIO",
  "EAGAIN",
  "EBUSY",
  "ENODEV",
  "ENOENT",
  "EBADF",
  "ENOSPC",
] as const;

/** `expect: { error }` of a system call or verb. */
const callExpect = z
  .strictObject({
    error: z
      .enum(CALL_ERRORS)
      .optional()
      .describe(
        "How the call may end: none (the default: it must succeed), any, or this errno. " +
          "An unexpected error is an unexpected_error violation.",
      ),
  })
  .optional();

const rangeOp = {
  expect: callExpect,
  buffer: ident,
  offset: offset.optional().describe("Byte offset, page-aligned (default 0)."),
  pages: pages.optional().describe("Default: to the end of the buffer."),
};

export const ADVICE = [
  "dontneed",
  "free",
  "willneed",
  "dontfork",
  "dofork",
  "hugepage",
  "nohugepage",
  "normal",
  "random",
  "sequential",
] as const;

export const ADVISE_MR = ["prefetch", "prefetch_write", "prefetch_no_fault"] as const;

/** What a NIC access may end in: success, either, or failing with this errno (QP error). */
export const DMA_ERRORS = ["none", "any", "EFAULT", "ENODEV", "ENOMEM", "EPERM", "EINVAL"] as const;

const dmaError = z
  .enum(DMA_ERRORS)
  .optional()
  .describe(
    "How the access may end: none (the default: it must succeed), any (succeed or fail), or " +
      "failing with this errno. A failed access puts the QP in error and stops the thread; an " +
      "unexpected failure is a qp_error violation.",
  );

const dmaRange = {
  mr: ident,
  buffer: ident
    .optional()
    .describe("Address relative to this buffer (needed for an implicit MR); default the MR."),
  offset: offset.optional(),
};

const noArgs = z.union([z.null(), z.strictObject({})]);

/** What a uverbs_mmap maps: the ucontext's doorbell (a BAR page) or its driver page. */
export const UVERBS_OBJECTS = ["doorbell", "page"] as const;

export const SEND_OPCODES = ["send", "rdma_write", "rdma_read"] as const;

export const WC_STATUSES = [
  "any",
  "SUCCESS",
  "LOC_LEN_ERR",
  "LOC_QP_OP_ERR",
  "LOC_PROT_ERR",
  "WR_FLUSH_ERR",
  "REM_INV_REQ_ERR",
  "REM_ACCESS_ERR",
  "REM_OP_ERR",
  "RETRY_EXC_ERR",
  "RNR_RETRY_EXC_ERR",
] as const;

const mirrorRange = {
  mirror: ident.describe("A mirror of this process's setup.mirrors."),
  buffer: ident.describe("The command's range is in this buffer."),
  offset: offset.optional().describe("Byte offset, page-aligned (default 0)."),
  pages: pages.optional().describe("Default: to the end of the buffer."),
};

/** What a dmirror command may return: success, anything, or one error. */
export const MIRROR_ERRORS = [
  "none",
  "any",
  "EFAULT",
  "EPERM",
  "EBUSY",
  "EINVAL",
  "ENOMEM",
  "EBADF",
] as const;

const mirrorResult = {
  error: z
    .enum(MIRROR_ERRORS)
    .optional()
    .describe("The error the command must return: none (the default), any, or this errno."),
  cpages: z.int().min(0).optional().describe("cmd.cpages: pages copied or described."),
  faults: z.int().min(0).optional().describe("cmd.faults: dmirror_fault() calls it made."),
};

/** A snapshot's permission byte of one page (HMM_DMIRROR_PROT_*), by name. */
export const MIRROR_PROT_REGEX = /^(error|none|read|write)(\+(zero|pmd|pud))*$/;

const mirrorProt = z
  .string()
  .regex(MIRROR_PROT_REGEX, "error, none, read or write, plus +zero, +pmd, +pud")
  .describe("HMM_DMIRROR_PROT_*: error | none | read | write, with +zero / +pmd / +pud.");

const opObject = z
  .strictObject({
    cpu_read: cpuReadSchema.optional().describe("A load by this thread (user threads)."),
    cpu_write: cpuWriteSchema.optional().describe("A store by this thread (user threads)."),
    munmap: z.strictObject(rangeOp).optional().describe("munmap(2) of part of a buffer."),
    mprotect: z
      .strictObject({ ...rangeOp, prot: protSchema })
      .optional()
      .describe("mprotect(2) of part of a buffer."),
    madvise: z
      .strictObject({ ...rangeOp, advice: z.enum(ADVICE) })
      .optional()
      .describe("madvise(2) of part of a buffer."),
    mremap: z
      .strictObject({
        expect: callExpect,
        buffer: ident,
        pages: pages.describe("The new size."),
        maymove: z.boolean().optional().describe("MREMAP_MAYMOVE (default true)."),
      })
      .optional()
      .describe("mremap(2) of a whole buffer; the buffer name follows the move."),
    mmap: z
      .strictObject({
        ...rangeOp,
        prot: protSchema.optional().describe("Default [read, write]."),
        flags: z
          .array(z.enum(MAP_FLAGS))
          .optional()
          .describe("MAP_* flags of the new mapping; default [private, anonymous]."),
        file: ident.optional().describe("The file to map (implies the 'file' flag)."),
        fileOffset: z.int().min(0).optional().describe("Byte offset into the file."),
      })
      .optional()
      .describe(
        "mmap(2) with MAP_FIXED over part of a buffer: a new mapping replaces the VMAs " +
          "there (under whatever is registered on them); the buffer keeps its address.",
      ),
    writeback: z
      .strictObject({
        file: ident.describe("A file of this process's setup.files."),
        expect: callExpect,
      })
      .optional()
      .describe("filemap_write_and_wait() of the file: its dirty pages to disk (fsync(2))."),
    drop_caches: z
      .strictObject({
        file: ident.describe("A file of this process's setup.files."),
        expect: callExpect,
      })
      .optional()
      .describe(
        "invalidate_mapping_pages() of the file: its clean, unmapped page-cache pages are " +
          "dropped (echo 1 > /proc/sys/vm/drop_caches, for this file).",
      ),
    migrate: z
      .strictObject(rangeOp)
      .optional()
      .describe("Migrate the buffer's pages to new frames (move_pages / NUMA balancing)."),
    fork: z
      .strictObject({
        child: ident.describe("The process (with forkOf) the child becomes."),
        expect: callExpect,
      })
      .optional()
      .describe("fork(2); the child's threads start when it returns."),
    exit: noArgs
      .optional()
      .describe("The process exits (exit_mm, then exit_files: its device file is closed)."),
    sleep_us: z
      .number()
      .min(0)
      .max(1e9)
      .optional()
      .describe(
        "Sleep at least this many virtual us (exactly, under nominal timing). Orders nothing: use signal/wait.",
      ),
    signal: ident
      .optional()
      .describe(
        "Signal the named event (complete_all()): every wait on it, now or later, goes on. Once signalled it stays signalled.",
      ),
    wait: ident
      .optional()
      .describe(
        "Wait until the named event is signalled (wait_for_completion(), no timeout): how a scenario says 'after'.",
      ),
    reg_mr: registrationSchema
      .extend({ expect: callExpect })
      .optional()
      .describe(
        "ibv_reg_mr() from this thread, racing the others (user threads); the MR joins " +
          "the process's MRs when the call returns. Its fields are a setup registration's.",
      ),
    dereg_mr: z
      .strictObject({ mr: ident, expect: callExpect })
      .optional()
      .describe("ibv_dereg_mr()."),
    destroy_qp: z
      .strictObject({ qp: ident, expect: callExpect })
      .optional()
      .describe("ibv_destroy_qp(): the QP and its pending work and page faults are dropped."),
    advise_mr: z
      .strictObject({
        expect: callExpect,
        mr: ident,
        buffer: ident
          .optional()
          .describe("Address relative to this buffer (needed for an implicit MR); default the MR."),
        advice: z.enum(ADVISE_MR).optional().describe("Default prefetch_write."),
        offset: offset.optional(),
        bytes: bytes.optional(),
        flush: z.boolean().optional().describe("IB_UVERBS_ADVISE_MR_FLAG_FLUSH."),
        nextKey: z
          .int()
          .min(1)
          .max(1024)
          .optional()
          .describe(
            "Advise the key this many registrations after the MR's own, over the MR's " +
              "range: the guess a program can make (an mlx5 mkey is an index and a " +
              "variant byte, and each new mkey takes the next index), so the key may not " +
              "be registered yet.",
          ),
      })
      .optional()
      .describe("ibv_advise_mr()."),
    oom_reap: noArgs
      .optional()
      .describe("The OOM reaper reaps this process's memory (kernel threads)."),
    post_recv: z
      .strictObject({ qp: ident, ...dmaRange, bytes, expect: callExpect })
      .optional()
      .describe("ibv_post_recv() of one receive into the MR (user threads)."),
    post_send: z
      .strictObject({
        qp: ident,
        expect: callExpect,
        opcode: z.enum(SEND_OPCODES).optional().describe("Default send."),
        ...dmaRange,
        bytes,
        remote: z
          .strictObject({
            mr: ident.describe("An MR of the peer QP's process."),
            buffer: ident.optional().describe("Relative to this buffer of the peer process."),
            offset: offset.optional(),
          })
          .optional()
          .describe("rdma_write / rdma_read: where in the peer's memory."),
      })
      .optional()
      .describe("ibv_post_send() of one signaled work request (user threads)."),
    poll_cq: z
      .strictObject({
        qp: ident,
        count: z.int().min(1).max(1024).optional().describe("Completions to wait for (1)."),
        status: z
          .enum(WC_STATUSES)
          .optional()
          .describe("The status every completion must have (default SUCCESS), or any."),
        timeout_us: z
          .number()
          .min(0)
          .max(1e9)
          .optional()
          .describe(
            "Give up after this many virtual us (default: wait as long as it takes). Under free timing a finite timeout may fire before the completion.",
          ),
      })
      .optional()
      .describe("Wait for completions on the QP's CQ (sends and receives share it)."),
    uverbs_mmap: z
      .strictObject({
        name: ident.describe(
          "The mapping's name: later cpu_read, cpu_write and munmap of this process name it " +
            "as a buffer, and a forked child inherits it.",
        ),
        object: z
          .enum(UVERBS_OBJECTS)
          .describe("doorbell: the context's doorbell page (IO memory); page: its driver page."),
        expect: callExpect,
      })
      .optional()
      .describe(
        "mmap(2) of one page of the process's uverbs device file, shared, read-write, at the " +
          "offset the driver gave for the object (user threads).",
      ),
    device_remove: noArgs
      .optional()
      .describe("Hot unplug of the process's host NIC: disassociation (kernel threads)."),
    mirror_read: z
      .strictObject({
        ...mirrorRange,
        expect: z
          .strictObject({ ...dataMatch, ...mirrorResult })
          .optional()
          .describe("pattern: every byte read; text / hex: the first bytes read."),
      })
      .optional()
      .describe("HMM_DMIRROR_READ: the device reads the range, faulting it in (user threads)."),
    mirror_write: z
      .strictObject({
        ...mirrorRange,
        pattern: byteValue.describe("Every byte of the range gets this value."),
        expect: z.strictObject(mirrorResult).optional(),
      })
      .optional()
      .describe("HMM_DMIRROR_WRITE: the device writes the range, faulting it in (user threads)."),
    mirror_snapshot: z
      .strictObject({
        ...mirrorRange,
        expect: z
          .strictObject({
            ...mirrorResult,
            prot: z.array(mirrorProt).optional().describe("One entry per page of the range."),
          })
          .optional(),
      })
      .optional()
      .describe(
        "HMM_DMIRROR_SNAPSHOT: each page's CPU permission, without faulting (user threads).",
      ),
    mirror_close: z
      .strictObject({ mirror: ident })
      .optional()
      .describe("close() of the mirror's file: dmirror_fops_release (user threads)."),
    dma_read: z
      .strictObject({
        ...dmaRange,
        bytes,
        expect: z.strictObject({ ...dataMatch, error: dmaError }).optional(),
      })
      .optional()
      .describe("The NIC reads through the MR (nic threads)."),
    dma_write: z
      .strictObject({
        ...dmaRange,
        ...writeData,
        expect: z.strictObject({ error: dmaError }).optional(),
      })
      .optional()
      .describe("The NIC writes through the MR (nic threads)."),
  })
  .meta({ minProperties: 1, maxProperties: 1 })
  .describe("One operation: an object with exactly one key, the operation's name.");

export const NO_ARG_OPS = ["exit", "oom_reap", "device_remove"] as const;

const opSchema = z
  .union([z.enum(NO_ARG_OPS), opObject])
  .describe(
    "An operation: `- exit`, `- device_remove`, or `- cpu_write: {buffer: buf, bytes: 8, pattern: 1}`.",
  );

export const THREAD_KINDS = ["user", "nic", "kernel"] as const;

const threadSchema = z.strictObject({
  name: ident,
  kind: z
    .enum(THREAD_KINDS)
    .optional()
    .describe(
      "user: a thread of the process (default); nic: the host's NIC acting on the " +
        "process's MRs (a device task); kernel: a kernel thread acting on the process.",
    ),
  repeat: z.int().min(1).max(1000).optional().describe("Run the ops this many times."),
  ops: z.array(opSchema),
});

const processSchema = z.strictObject({
  name: ident,
  host: ident.optional().describe("The host it runs on (default the first)."),
  forkOf: ident
    .optional()
    .describe("This process is the child a `fork` op of that process creates."),
  setup: setupSchema.optional(),
  threads: z.array(threadSchema).optional(),
});

// ---------------------------------------------------------------------------------------
// Expectations, faults, the whole file

const dataCheckSchema = z.strictObject({
  process: ident.optional().describe("Default the first process."),
  buffer: ident,
  offset: offset.optional(),
  bytes: bytes.optional().describe("Needed with `pattern`."),
  ...dataMatch,
});

const expectSchema = z.strictObject({
  violation: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, "a violation kind such as device_use_after_free, or none")
    .optional()
    .describe("none (the default): every run is clean; a kind: exploration must find it."),
  data: z
    .array(dataCheckSchema)
    .optional()
    .describe("Memory contents after a clean run, read through the process's page tables."),
});

/**
 * Later kernels' fixes a scenario may put into its design's kernel: the design's era
 * predates them, and a catalog scenario that needs one runs with it backported.
 */
export const BACKPORTS = ["mmu-notifier-range-end-pairing"] as const;
export type Backport = (typeof BACKPORTS)[number];

export const FAULT_SITES = [
  "alloc",
  "dma_map",
  "umr",
  "nonblockable_invalidate",
  "process_kill",
  "device_removal",
] as const;

const faultsSchema = z
  .strictObject({
    sites: z.array(z.enum(FAULT_SITES)),
    probability: z.number().min(0).max(1).optional(),
  })
  .describe(
    "Fault injection, drawn from the seed: alloc, dma_map and umr fail at their failure " +
      "points; nonblockable_invalidate and process_kill are an OOM reaper pass and a SIGKILL " +
      "per process, device_removal a hot unplug per host, each at a time drawn after setup.",
  );

export const scenarioSchema = z
  .strictObject({
    name: ident.describe("The scenario's name (in reports and replay tokens)."),
    description: z.string().optional(),
    design: z
      .union([
        z.enum([...MLX5_ODP_DESIGN_NAMES, ...UVERBS_MMAP_DESIGN_NAMES]),
        z.string().regex(DESIGN_MODULE_PATTERN, {
          message: `${[...MLX5_ODP_DESIGN_NAMES, ...UVERBS_MMAP_DESIGN_NAMES].join(", ")} or a design module's path (.ts, .js)`,
        }),
      ])
      .optional()
      .describe(
        `The interlock design (default ${DEFAULT_MLX5_ODP_DESIGN}), or the path of a ` +
          "design module, which the command line loads with --design PATH; or a uverbs " +
          "mmap design (seed: seed 004, with classic; entry: the mmap-entry design, with " +
          "interval), for files that map the device's IO memory (uverbs_mmap).",
      ),
    defects: z.array(z.string()).optional().describe("Catalog defect ids to switch on."),
    backports: z
      .array(z.enum(BACKPORTS))
      .optional()
      .describe(
        "Fixes of later kernels put into the design's kernel. mmu-notifier-range-end-pairing: " +
          '"mm/mmu_notifiers: ensure range_end() is paired with range_start()" (v5.12), which ' +
          "the classic and hmm-mirror designs' kernels predate.",
      ),
    maxSteps: z.int().min(1).max(10_000_000).optional().describe("Step bound (default 50000)."),
    hosts: z.array(hostSchema).min(1).optional().describe("Default: one host, host0."),
    processes: z.array(processSchema).min(1),
    expect: expectSchema.optional(),
    faults: faultsSchema.optional(),
  })
  .describe("An odpsim scenario.");

export type ScenarioSpec = z.infer<typeof scenarioSchema>;
export type HostSpec = z.infer<typeof hostSchema>;
export type ProcessSpec = z.infer<typeof processSchema>;
export type ThreadSpec = z.infer<typeof threadSchema>;
export type BufferSpec = z.infer<typeof bufferSchema>;
export type FileSpec = z.infer<typeof fileSchema>;
export type RegistrationSpec = z.infer<typeof registrationSchema>;
export type QpSpec = z.infer<typeof qpSchema>;
export type MirrorSpec = z.infer<typeof mirrorSchema>;
export type UserptrSpec = z.infer<typeof userptrSchema>;
export type OpSpec = z.infer<typeof opSchema>;
export type OpObject = z.infer<typeof opObject>;
export type DataCheckSpec = z.infer<typeof dataCheckSchema>;
export type CostSpec = z.infer<typeof costSchema>;
export type OdpCapsSpec = z.infer<typeof odpCapsSchema>;

/** The JSON Schema editors use (yaml-language-server). */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(scenarioSchema, { io: "input", unrepresentable: "any" });
  return {
    ...schema,
    $id: "https://odpsim.invalid/schema/scenario.schema.json",
    title: "odpsim scenario",
  };
}
