/**
 * A generated program as a scenario file: readable YAML with a comment header saying
 * where it came from and how to run it again.
 *
 * Models no kernel file. The file is what `odpsim run`, `explore` and `replay` read, so
 * a fuzz finding can be committed as an example or a regression test as it is. Parsing
 * the text back (parse.ts) is the file's check: what is written is what was run.
 */
import { Document, isMap, isScalar, isSeq, visit, type Node } from "yaml";
import { compileScenario, type CompiledScenario } from "../compile.ts";
import { parseScenarioText } from "../parse.ts";
import type { ScenarioSpec } from "../schema.ts";

/** The scenario file's text: `header` lines as comments, then the document. */
export function scenarioText(spec: ScenarioSpec, header: readonly string[] = []): string {
  const comments = header.map((line) => (line === "" ? "#" : `# ${line}`)).join("\n");
  const doc = new Document(spec, { aliasDuplicateObjects: false });
  // A mapping or list of plain values goes on one line: `- dma_write: { mr: mr0, bytes: 8 }`.
  visit(doc, {
    Map: (_, node) => void (node.flow = node.items.every((p) => isFlat(p.value as Node | null))),
    Seq: (_, node) => void (node.flow = node.items.every((n) => isScalar(n))),
  });
  const body = doc.toString({ lineWidth: 100, flowCollectionPadding: true });
  return header.length === 0 ? body : `${comments}\n${body}`;
}

/** A scalar, or a list or mapping of scalars. */
function isFlat(node: Node | null): boolean {
  if (node === null || isScalar(node)) return true;
  if (isSeq(node)) return node.items.every((n) => isScalar(n));
  if (isMap(node)) return node.items.every((p) => isScalar(p.value));
  return false;
}

/** Compiles a generated spec through its file text, named `file` (throws ScenarioError). */
export function compileGenerated(spec: ScenarioSpec, file: string): CompiledScenario {
  return compileScenario(parseScenarioText(scenarioText(spec), file));
}
