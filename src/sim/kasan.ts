/**
 * Object lifetimes, checked the way KASAN (mm/kasan/) checks them: every simulated
 * kernel object is allocated and freed through the kernel, and touching a freed object
 * or freeing it twice is a violation that names where it was allocated and freed.
 *
 * Model code calls `kasan.check(obj, what)` wherever the real code dereferences a
 * pointer another task may have freed; that is the "shadow memory" check. A free is
 * traced as `kfree`, writing the object (src/sim/objectAccess.ts), so a race report can
 * find it.
 */
import { objectId } from "./objectAccess.ts";
import type { TraceFields } from "./trace.ts";

/** Where an object was allocated or freed. */
export interface ObjectSite {
  readonly task: string | null;
  readonly step: number;
}

/** What Kasan needs of the kernel. */
export interface KasanHost {
  readonly stepNow: number;
  currentLabel(): string | null;
  report(kind: string, message: string, details: Record<string, unknown>): void;
  /** Non-null while the run is traced. */
  readonly trace: object | null;
  event(label: string, fields?: TraceFields): void;
}

/** Base of every simulated kernel object whose lifetime is checked. */
export class KObject {
  readonly objId: number;
  readonly allocSite: ObjectSite;
  freeSite: ObjectSite | null = null;

  constructor(
    kasan: Kasan,
    readonly objKind: string,
  ) {
    this.objId = kasan.nextId();
    this.allocSite = kasan.site();
    kasan.register(this);
  }

  get freed(): boolean {
    return this.freeSite !== null;
  }

  /** `kind#id`, the name reports use. */
  get objName(): string {
    return `${this.objKind}#${this.objId}`;
  }
}

export class Kasan {
  private ids = 0;
  private readonly live = new Set<KObject>();

  constructor(private readonly host: KasanHost) {}

  /** @internal used by KObject's constructor. */
  nextId(): number {
    return ++this.ids;
  }

  /** @internal the current site, for KObject's constructor. */
  site(): ObjectSite {
    return { task: this.host.currentLabel(), step: this.host.stepNow };
  }

  /** @internal */
  register(obj: KObject): void {
    this.live.add(obj);
  }

  /** kfree(): a second free of the same object is a violation. */
  free(obj: KObject): void {
    if (obj.freeSite !== null) {
      this.host.report("double_free", `double free of ${obj.objName}`, this.evidence(obj));
      return;
    }
    obj.freeSite = this.site();
    this.live.delete(obj);
    if (this.host.trace !== null) {
      this.host.event("kfree", { object: obj.objName, writes: objectId(obj.objName) });
    }
  }

  /** A dereference of `obj` to do `what`: a violation if it was freed. Returns liveness. */
  check(obj: KObject, what: string): boolean {
    if (obj.freeSite === null) return true;
    this.host.report(
      "use_after_free",
      `use-after-free: ${what} touches ${obj.objName} after it was freed`,
      { ...this.evidence(obj), access: what },
    );
    return false;
  }

  /** Objects still allocated, in allocation order (the teardown leak check). */
  liveObjects(kind?: string): KObject[] {
    const all = [...this.live];
    return kind === undefined ? all : all.filter((o) => o.objKind === kind);
  }

  private evidence(obj: KObject): Record<string, unknown> {
    return { object: obj.objName, allocated: obj.allocSite, freed: obj.freeSite };
  }
}
