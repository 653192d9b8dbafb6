/**
 * i915 GEM userptr objects in scenarios: `setup.userptrs` creates, in a process, GEM
 * objects backed by ranges of its buffers, each active as a GPU-bound object is. They
 * matter to the model through their MMU notifier: a second subscriber on the process's
 * mm, beside the RDMA per-mm notifier, that refuses a non-blockable invalidation of a
 * range covering an active object (src/drm/i915GemUserptr.ts).
 *
 * Models the notifier half of i915_gem_userptr_ioctl() (drivers/gpu/drm/i915/gem/
 * i915_gem_userptr.c, v5.3): the first object of an mm finds no i915_mmu_notifier
 * (i915_mmu_notifier_find) and creates and registers one; every object gets its
 * i915_mmu_object over [ptr, ptr + size) (i915_gem_userptr_init__mmu_notifier). The
 * program's first use of the object, which gets its pages (i915_gem_userptr_get_pages,
 * __i915_gem_userptr_set_active), is folded into the creation: the object is active
 * from setup on. Simplifications: no DRM device file, GEM handle or GPU; one i915 device
 * per host, so one notifier per process; the pages an active object pins are not pinned.
 */
import { errnoName } from "../sim/errno.ts";
import type { KGen } from "../sim/task.ts";
import {
  i915GemUserptrInitMmuNotifier,
  i915GemUserptrSetActive,
  i915MmuNotifierCreate,
  type I915MmuNotifier,
} from "../drm/i915GemUserptr.ts";
import { SCENARIO_PAGE_SIZE as PAGE, type UserptrSpec } from "./schema.ts";
import type { ProcessRt, World } from "./world.ts";

/** i915_mmu_notifier_find(): the process's notifier, created and registered on first use. */
function* i915MmuNotifierFind(p: ProcessRt): KGen<I915MmuNotifier | string> {
  if (p.i915Mn !== null) return p.i915Mn;
  const mm = p.proc.mm;
  if (mm === null) return "the process has exited";
  const mn = yield* i915MmuNotifierCreate(p.proc.k, mm);
  if (typeof mn === "number") return `mmu_notifier_register failed: ${errnoName(mn)}`;
  p.i915Mn = mn;
  return mn;
}

/** DRM_IOCTL_I915_GEM_USERPTR over the spec's range, then the object made active. */
export function* createUserptr(world: World, p: ProcessRt, u: UserptrSpec): KGen<string | null> {
  const buf = p.buffers.get(u.buffer);
  if (buf === undefined) throw new Error(`validated scenario lost buffer ${u.buffer}`);
  const offset = u.offset ?? 0;
  const bytes = u.pages === undefined ? buf.bytes - offset : u.pages * PAGE;
  const mn = yield* i915MmuNotifierFind(p);
  if (typeof mn === "string") return mn;
  const mo = i915GemUserptrInitMmuNotifier(mn, buf.addr + offset, bytes);
  yield* i915GemUserptrSetActive(mo, true);
  p.userptrs.set(u.name, mo);
  world.k.event("i915_gem_userptr", { process: p.name, userptr: u.name, bytes });
  return null;
}
