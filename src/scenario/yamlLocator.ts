/**
 * Finding where a path of a scenario starts in its text, in a Document that may have given
 * up the items of its long sequences (composeYaml.ts).
 *
 * Models no kernel file. A path walks the composed nodes as zod and validate.ts name
 * them (keys and indices). When it reaches an item that was harvested, the item's source
 * span is composed again on its own — indented as it was, so that the same text means the
 * same thing — and the walk goes on there; offsets in that span are shifted back. Only an
 * error needs this, and only for the item it points into.
 */
import { isMap, isPair, isScalar, isSeq, type Document, type Node } from "yaml";
import type { SpecPath } from "./errors.ts";

/** The finished items of one block sequence, composed early and kept as plain values. */
export interface Harvest {
  /** Their values, in order, until toValue puts them back into the sequence. */
  values: unknown[];
  /** Where each item's `-` is. */
  readonly dashes: number[];
  /** Where each item's span ends: the next item's first token. */
  readonly ends: number[];
}

/** What a harvested item's span is composed into; composeYaml's result. */
export interface SpanLocator {
  offsetOf(path: SpecPath, key?: string): number;
}

/** Where a walk along a path stopped. */
type Reached =
  | { readonly at: "node"; readonly node: unknown; readonly offset: number }
  | {
      readonly at: "harvested";
      readonly record: Harvest;
      readonly index: number;
      readonly rest: SpecPath;
    };

export class YamlLocator {
  constructor(
    private readonly text: string,
    private readonly doc: Document,
    /** Harvests by the source offset of their sequence. */
    private readonly harvests: ReadonlyMap<number, Harvest>,
    private readonly compose: (span: string) => SpanLocator,
  ) {}

  /** Where the node at `path` (or its nearest existing ancestor) starts; `key`: that key of the map there. */
  offsetOf(path: SpecPath, key?: string): number {
    const reached = this.walk(path);
    if (reached.at === "node") return keyOffset(reached.node, key) ?? reached.offset;
    const { record, index, rest } = reached;
    const dash = record.dashes[index] ?? 0;
    const column = dash - (this.text.lastIndexOf("\n", dash - 1) + 1);
    const span = " ".repeat(column) + this.text.slice(dash, record.ends[index] ?? dash);
    return this.compose(span).offsetOf([0, ...rest], key) + dash - column;
  }

  /**
   * offsetOf without going into a harvested item: there it gives the item's `-`. No node
   * outside the item lies inside its span, so paths order by this first and by offsetOf
   * only between paths into the same item.
   */
  coarseOffsetOf(path: SpecPath, key?: string): number {
    const reached = this.walk(path);
    if (reached.at === "node") return keyOffset(reached.node, key) ?? reached.offset;
    return reached.record.dashes[reached.index] ?? 0;
  }

  private walk(path: SpecPath): Reached {
    let node: unknown = this.doc.contents;
    let offset = rangeStart(node) ?? 0;
    for (const [depth, part] of path.entries()) {
      const record = isSeq(node) ? this.harvests.get(rangeStart(node) ?? -1) : undefined;
      const harvested = record?.dashes.length ?? 0;
      if (record !== undefined && typeof part === "number" && part < harvested) {
        return { at: "harvested", record, index: part, rest: path.slice(depth + 1) };
      }
      const next = child(node, typeof part === "number" ? part - harvested : part);
      if (next === undefined) break;
      node = next.node;
      offset = next.offset ?? offset;
    }
    return { at: "node", node, offset };
  }
}

/** Where `key` of the map `node` is written, if it is one. */
function keyOffset(node: unknown, key: string | undefined): number | undefined {
  if (key === undefined || !isMap(node)) return undefined;
  const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
  return pair === undefined ? undefined : rangeStart(pair.key);
}

function rangeStart(node: unknown): number | undefined {
  if (node === null || typeof node !== "object" || !("range" in node)) return undefined;
  const range = (node as Node).range;
  return range?.[0];
}

/** The child node at `part`, and where its value starts (the key, for a null value). */
function child(
  node: unknown,
  part: string | number,
): { node: unknown; offset?: number } | undefined {
  if (isSeq(node) && typeof part === "number") {
    const item: unknown = node.items[part];
    return item === undefined ? undefined : { node: item, offset: rangeStart(item) };
  }
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === part);
    if (pair === undefined) return undefined;
    const value: unknown = pair.value;
    return { node: value, offset: rangeStart(value) ?? rangeStart(pair.key) };
  }
  return undefined;
}
