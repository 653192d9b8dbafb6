/**
 * Composing a scenario file's YAML in memory that grows with the value, not with the
 * yaml package's Document: a 10^5-operation file is a 7.6 MB string, its value some tens
 * of MB, its Document with a node, a pair and a source range for every scalar about
 * 870 MB (bench scenario.peak_rss_mb.*).
 *
 * Models no kernel file. The yaml package's own Lexer and Parser run lexeme by lexeme;
 * after each lexeme the open block sequences on the parser's stack give up their
 * finished items (every item but the last, whose value may still be growing):
 *
 *     lexeme ─► Parser.stack: document ─ block-map ─ block-seq(ops) ─ ...
 *                                                    │ items 0..n-2 finished
 *                                                    ▼
 *               Composer(one batch) ─► values, each item's source span ─► dropped
 *
 * The batch is composed by the yaml package's Composer (same schema, same errors), turned
 * into plain values and kept on a `Harvest` keyed by the sequence's source offset; the
 * CST and the Document of the batch are garbage. When the document ends, the rest of the
 * tree is composed and every harvested sequence gets its values back in front of the
 * items it kept. Positions of the harvested items are found again only when an error
 * needs one, by composing that item's source span on its own (harvestedItem).
 *
 * Streaming gives up — and the whole text goes through parseDocument as before, memory
 * and all — on what would make a batch depend on another: anchors and aliases, %
 * directives, a second document, a key that is not a scalar. Block sequences are the only
 * thing harvested: a flow sequence or a mapping of 10^5 entries is composed whole.
 */
import {
  Composer,
  CST,
  Lexer,
  LineCounter,
  Parser,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  type Document,
  type YAMLError,
} from "yaml";
import type { SpecPath } from "./errors.ts";
import { YamlLocator, type Harvest } from "./yamlLocator.ts";

/** A scenario file's YAML: its value, its first error and where each path is. */
export interface ComposedYaml {
  /** The document as plain data (what `Document.toJS` gives), null when it is empty. */
  readonly value: unknown;
  /** The YAML error that comes first in the text, or null. */
  readonly error: YAMLError | null;
  /** False when the text went through parseDocument whole (see the file header). */
  readonly streamed: boolean;
  /** Line starts of the text, for turning offsets into line and column. */
  readonly lines: LineCounter;
  /** Where the node at `path` starts (or its nearest existing ancestor). */
  offsetOf(path: SpecPath, key?: string): number;
  /** Like offsetOf, but stops at a harvested item's `-` (yamlLocator.ts). */
  coarseOffsetOf(path: SpecPath, key?: string): number;
}

export interface ComposeOptions {
  /** Finished items a sequence gathers before they are composed (tests use 1). */
  readonly batch?: number;
}

/** The yaml options the scenario language reads with. */
const YAML_OPTIONS = { uniqueKeys: true, prettyErrors: false } as const;
const DEFAULT_BATCH = 64;
/** Lexemes that tie one part of the text to another; streaming leaves them to parseDocument. */
const UNSTREAMABLE: ReadonlySet<string> = new Set(["anchor", "alias", "directive-line"]);

/** Composes `text`; see the file header for when this falls back to parseDocument. */
export function composeYaml(text: string, options: ComposeOptions = {}): ComposedYaml {
  try {
    return streamYaml(text, options.batch ?? DEFAULT_BATCH);
  } catch (error) {
    if (error instanceof Unstreamable) return wholeYaml(text);
    throw error;
  }
}

/** Thrown inside streamYaml when the text needs the whole Document. */
class Unstreamable extends Error {}

function wholeYaml(text: string): ComposedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { ...YAML_OPTIONS, lineCounter: lines });
  const locator = new YamlLocator(text, doc, new Map(), (span) => composeYaml(span));
  return {
    value: doc.toJS({ maxAliasCount: 100 }),
    error: firstError(doc.errors),
    streamed: false,
    lines,
    offsetOf: (path, key) => locator.offsetOf(path, key),
    coarseOffsetOf: (path, key) => locator.offsetOf(path, key),
  };
}

function streamYaml(text: string, batch: number): ComposedYaml {
  const lines = new LineCounter();
  const parser = new Parser(lines.addNewLine);
  lines.addNewLine(0); // as Parser.parse does before its first lexeme
  const composer = new Composer(YAML_OPTIONS);
  const harvests = new Map<number, Harvest>();
  const errors: YAMLError[] = [];
  const docs: Document[] = [];
  let scalarSource = false;
  for (const lexeme of new Lexer().lex(text)) {
    // After the SCALAR mark comes a scalar's source, which may begin with any character.
    if (!scalarSource && UNSTREAMABLE.has(CST.tokenType(lexeme) ?? "")) throw new Unstreamable();
    scalarSource = lexeme === CST.SCALAR;
    for (const token of parser.next(lexeme)) docs.push(...composer.next(token));
    for (const open of parser.stack) {
      if (open.type === "block-seq" && open.items.length > batch) {
        harvest(open, harvests, errors);
      }
    }
  }
  for (const token of parser.end()) docs.push(...composer.next(token));
  docs.push(...composer.end(true, text.length));
  const [doc] = docs;
  if (doc === undefined || docs.length > 1) throw new Unstreamable();
  errors.push(...doc.errors);
  const value = toValue(doc.contents, harvests);
  const locator = new YamlLocator(text, doc, harvests, (span) => composeYaml(span, { batch }));
  return {
    value,
    error: firstError(errors),
    streamed: true,
    lines,
    offsetOf: (path, key) => locator.offsetOf(path, key),
    coarseOffsetOf: (path, key) => locator.coarseOffsetOf(path, key),
  };
}

/**
 * Composes the finished items of `seq` (all but its last) as one batch and removes them
 * from the parser's tree. The parser only ever looks at a sequence's last item (and, for
 * a comment, the one before it, where it files the comment into the item instead).
 */
function harvest(seq: CST.BlockSequence, harvests: Map<number, Harvest>, errors: YAMLError[]) {
  const items = seq.items.splice(0, seq.items.length - 1);
  const first = items[0]?.start[0]?.offset ?? seq.offset;
  const token: CST.Document = {
    type: "document",
    offset: first,
    start: [],
    value: { type: "block-seq", offset: first, indent: seq.indent, items },
    end: [],
  };
  const composer = new Composer(YAML_OPTIONS);
  const [doc] = [...composer.next(token), ...composer.end()];
  if (doc === undefined || !isSeq(doc.contents))
    throw new Error("a harvested batch composed to no sequence");
  errors.push(...doc.errors);
  let record = harvests.get(seq.offset);
  if (record === undefined) {
    record = { values: [], dashes: [], ends: [] };
    harvests.set(seq.offset, record);
  }
  // An item's span ends where the next one's first token is: a composed node's range
  // would stop short where a sequence inside it gave up all its items.
  const spans = [...items, ...seq.items];
  for (const [i, item] of items.entries()) {
    const dash = item.start.find((t) => t.type === "seq-item-ind");
    if (dash === undefined) continue;
    record.dashes.push(dash.offset);
    record.ends.push(firstOffset(spans[i + 1]));
  }
  for (const node of doc.contents.items) record.values.push(toValue(node, harvests));
}

/** Where a sequence item's first token is (the end of the text when there is none). */
function firstOffset(item: CST.BlockSequence["items"][number] | undefined): number {
  return item?.start[0]?.offset ?? item?.value?.offset ?? Number.MAX_SAFE_INTEGER;
}

/**
 * A composed node as the plain value `Document.toJS` would give, with every harvested
 * sequence's values put back in front of the items it kept. A harvest is consumed here:
 * only its item spans stay, for positions.
 */
function toValue(node: unknown, harvests: Map<number, Harvest>): unknown {
  if (node === null || node === undefined) return null;
  if (isScalar(node)) return scalarValue(node.value);
  if (isSeq(node)) {
    const record = harvests.get(node.range?.[0] ?? -1);
    const kept = node.items.map((item) => toValue(item, harvests));
    if (record === undefined) return kept;
    const values = record.values;
    record.values = [];
    return values.concat(kept);
  }
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      if (!isScalar(pair.key)) throw new Unstreamable();
      const scalar = scalarValue(pair.key.value);
      const key = scalar === null ? "" : String(scalar);
      const value = toValue(pair.value, harvests);
      // As the yaml package does: a key that names an inherited property (__proto__)
      // becomes an own property rather than a prototype change.
      if (key in out)
        Object.defineProperty(out, key, {
          value,
          writable: true,
          enumerable: true,
          configurable: true,
        });
      else out[key] = value;
    }
    return out;
  }
  throw new Unstreamable();
}

/** The core schema's scalars are strings, numbers, booleans and null. */
function scalarValue(value: unknown): string | number | boolean | null {
  if (value === null) return null;
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
      return value;
    default:
      throw new Unstreamable();
  }
}

function firstError(errors: readonly YAMLError[]): YAMLError | null {
  let first: YAMLError | null = null;
  for (const error of errors) if (first === null || error.pos[0] < first.pos[0]) first = error;
  return first;
}
