/**
 * The editor definitions of our nodes, read the way the editor reads them: each node's .html is
 * run against a stub `RED` that records registerType. Tests use it to build a node "as dropped
 * from the palette" (its default values) without knowing each node by hand.
 */
import fs from "node:fs";
import path from "node:path";

export interface NodeDefinition {
  type: string;
  category: string;
  inputs: number;
  outputs: number;
  defaults: Record<string, { value?: unknown; type?: string }>;
  credentials?: Record<string, unknown>;
  file: string;
}

const ROOT = path.join(__dirname, "..", "..", "..");

/** The node files package.json registers (relative to the repository). */
export function registeredNodes(): Record<string, string> {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
  return pkg["node-red"].nodes as Record<string, string>;
}

export function nodeDefinitions(): NodeDefinition[] {
  const out: NodeDefinition[] = [];
  for (const [, jsFile] of Object.entries(registeredNodes())) {
    const html = fs.readFileSync(path.join(ROOT, jsFile.replace(/\.js$/, ".html")), "utf8");
    const scripts = [...html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]);
    const validators = { number: () => () => true, regex: () => () => true, typedInput: () => () => true };
    const RED = {
      nodes: { registerType: (type: string, def: Omit<NodeDefinition, "type" | "file">) => out.push({ ...def, type, file: jsFile }) },
      validators,
      // Editor-wide hooks a definition file registers (putio-account.html's import hook).
      events: { on: () => {} },
      _: (k: string) => k,
    };
    for (const code of scripts) new Function("RED", "$", code)(RED, () => ({}));
  }
  return out;
}

/** A node of `def` with its default values, as the editor would create it. */
export function defaultNode(def: NodeDefinition, id: string, accountId: string, wires: string[][]): Record<string, unknown> {
  const node: Record<string, unknown> = { id, type: def.type, wires };
  for (const [k, d] of Object.entries(def.defaults)) node[k] = d.type === "putio-account" ? accountId : d.value;
  return node;
}
