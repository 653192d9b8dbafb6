/**
 * The raw random choices a generated scenario is decoded from, and their fast-check
 * arbitraries.
 *
 * Models no kernel file. A program is not generated as a scenario directly but as
 * genes: small records of natural numbers and flags that decode.ts maps onto a valid
 * scenario (an index taken modulo the objects that exist, an offset modulo the room
 * left). So every draw is valid by construction, and fast-check's shrinking of the
 * genes (shorter arrays, smaller numbers, flags off) is shrinking of the program:
 * fewer processes, threads and operations, smaller buffers and ranges, the first
 * choice of every list. 0 decodes to the simplest choice everywhere.
 */
import fc from "fast-check";
import type { ResolvedGenerateOptions } from "./options.ts";

/** One operation: which kind (among those the thread may run) and its arguments. */
export interface OpGene {
  readonly pick: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
  readonly flag: boolean;
}

export interface ThreadGene {
  /** 0 user, 1 nic, 2 kernel (modulo). */
  readonly kind: number;
  readonly repeat: number;
  readonly ops: readonly OpGene[];
}

export interface BufferGene {
  readonly pages: number;
  /** 0: private anonymous; 1: shared file; 2: private file; 3: shmem shared; 4: hugetlb. */
  readonly mapping: number;
  /** 0: read-write, 1: read-only, 2: read-write-exec, 3: none. */
  readonly prot: number;
  readonly fill: number | null;
}

export interface RegistrationGene {
  /** Which buffer, modulo; null: an implicit MR. */
  readonly buffer: number | null;
  readonly offset: number;
  readonly bytes: number;
  /** 0: default access; 1: local write only; 2: read-only (no LOCAL_WRITE); 3: + HUGETLB. */
  readonly access: number;
}

export interface ProcessGene {
  readonly buffers: readonly BufferGene[];
  readonly registrations: readonly RegistrationGene[];
  readonly qp: boolean;
  readonly qpTimeout: number;
  readonly mirror: boolean;
  readonly threads: readonly ThreadGene[];
}

export interface ScenarioGene {
  readonly design: number;
  readonly twoHosts: boolean;
  readonly frames: number;
  readonly processes: readonly ProcessGene[];
  /** A fork child of the first process, with these threads; null: no fork. */
  readonly child: readonly ThreadGene[] | null;
  /** Which of the options' fault sites are on, one flag each. */
  readonly faults: readonly boolean[];
  readonly faultProbability: number;
}

const small = (max: number) => fc.nat({ max });

function opGene(): fc.Arbitrary<OpGene> {
  return fc.record({
    pick: small(1000),
    a: small(1 << 16),
    b: small(1 << 16),
    c: small(1 << 16),
    d: small(255),
    flag: fc.boolean(),
  });
}

function threadGene(o: ResolvedGenerateOptions): fc.Arbitrary<ThreadGene> {
  return fc.record({
    kind: small(2),
    repeat: fc.integer({ min: 1, max: 3 }),
    ops: fc.array(opGene(), { minLength: 1, maxLength: o.maxOps }),
  });
}

function bufferGene(): fc.Arbitrary<BufferGene> {
  return fc.record({
    pages: fc.integer({ min: 1, max: 8 }),
    mapping: small(4),
    prot: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, small(3)),
    fill: fc.option(small(255), { nil: null }),
  });
}

function registrationGene(): fc.Arbitrary<RegistrationGene> {
  return fc.record({
    buffer: fc.option(small(7), { nil: null, freq: 4 }),
    offset: small(1 << 16),
    bytes: small(1 << 16),
    access: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, small(3)),
  });
}

function processGene(o: ResolvedGenerateOptions): fc.Arbitrary<ProcessGene> {
  return fc.record({
    buffers: fc.array(bufferGene(), { minLength: 1, maxLength: 3 }),
    registrations: fc.array(registrationGene(), { maxLength: 3 }),
    qp: fc.boolean(),
    qpTimeout: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 })),
    mirror: fc.boolean(),
    threads: fc.array(threadGene(o), { minLength: 1, maxLength: o.maxThreads }),
  });
}

/** The genes of one scenario under these options. */
export function scenarioGene(o: ResolvedGenerateOptions): fc.Arbitrary<ScenarioGene> {
  return fc.record({
    design: small(o.designs.length - 1),
    twoHosts: fc.boolean(),
    frames: fc.integer({ min: 64, max: 256 }),
    processes: fc.array(processGene(o), { minLength: 1, maxLength: o.maxProcesses }),
    child: fc.option(fc.array(threadGene(o), { minLength: 1, maxLength: 2 }), { nil: null }),
    faults: fc.array(fc.boolean(), {
      minLength: o.faultSites.length,
      maxLength: o.faultSites.length,
    }),
    faultProbability: fc.constantFrom(0.05, 0.2, 0.5),
  });
}
