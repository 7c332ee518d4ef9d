/**
 * The box a node takes on the editor's canvas, computed as the editor does (Node-RED 4's view:
 * width = max(100, 20 × ceil((label width + 50 + 7 if it has an input) / 20)), height =
 * max(30, 6 + 24 × label lines, 15 × outputs), centred on x/y), with the label's width measured
 * in the editor's font at 14 px (Arial's metrics: Liberation Sans is what Chromium draws on Linux).
 * Characters outside ASCII count as 1 em, never less than they take.
 */
import fs from "node:fs";
import path from "node:path";
import { nodeDefinitions, type NodeDefinition } from "./node-defs";

const ROOT = path.join(__dirname, "..", "..", "..");

/** Arial advance widths (1/1000 em) of ASCII 32…126. */
// prettier-ignore
const ARIAL = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556, 556, 556,
  278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722,
  667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
  222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

export function labelWidth(text: string, px = 14): number {
  let units = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    // Whitespace collapses to one space in the editor's label span.
    units += c === 9 ? ARIAL[0] : c >= 32 && c <= 126 ? ARIAL[c - 32] : 1000;
  }
  return (units * px) / 1000;
}

export interface FlowNode {
  id: string;
  type: string;
  [k: string]: unknown;
}

export interface Box {
  id: string;
  label: string;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

let defs: Map<string, NodeDefinition & { label?: unknown }> | null = null;
function ourDefinition(type: string): (NodeDefinition & { label?: unknown }) | undefined {
  defs ??= new Map(nodeDefinitions().map((d) => [d.type, d]));
  return defs.get(type);
}

/** A text of the en-US catalogs, by key, with its __params__ filled in. */
function catalogText(key: string, params: Record<string, unknown> = {}): string {
  const [type] = key.split(".");
  const file = path.join(ROOT, "nodes", "locales", "en-US", `${type}.json`);
  const catalog = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>) : {};
  const value = key.split(".").reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), catalog);
  if (typeof value !== "string") throw new Error(`no en-US text for ${key}`);
  return value.replace(/__(\w+)__/g, (_m, k: string) => String(params[k] ?? ""));
}

/** The label the editor shows (Node-RED core nodes' label rules for the types the flows use). */
export function nodeLabel(n: FlowNode): string {
  const name = typeof n.name === "string" ? n.name : "";
  const ours = ourDefinition(n.type);
  if (ours) {
    if (typeof ours.label !== "function") return name || n.type;
    return String((ours.label as (this: unknown) => string).call({ ...n, _: catalogText }));
  }
  if (n.type === "inject") {
    // The inject node marks a repeat (or a one-off at start) after its label.
    const suffix = (n.repeat && Number(n.repeat) !== 0) || n.crontab ? "\t↻" : n.once ? " ¹" : "";
    if (!name) throw new Error(`${n.id}: give the inject node a name (its default label is not computed here)`);
    return name + suffix;
  }
  if (name) return name;
  switch (n.type) {
    case "mqtt in":
    case "mqtt out":
      return String(n.topic || "mqtt");
    case "http in":
      return n.url ? `[${String(n.method)}] ${String(n.url)}` : "http";
    case "http response":
      return n.statusCode ? `http (${String(n.statusCode)})` : "http";
    case "catch":
      return Array.isArray(n.scope) ? `catch: ${n.scope.length}` : n.uncaught ? "catch: uncaught" : "catch: all";
    case "comment":
      return "";
    default:
      throw new Error(`${n.id}: give the ${n.type} node a name (its default label is not computed here)`);
  }
}

const NO_INPUT = new Set(["inject", "comment", "catch", "status", "complete", "mqtt in", "http in", "link in", "tab"]);

function hasInput(n: FlowNode): boolean {
  const ours = ourDefinition(n.type);
  if (ours) return ours.inputs > 0;
  return !NO_INPUT.has(n.type);
}

function outputCount(n: FlowNode): number {
  if (typeof n.outputs === "number") return n.outputs;
  // Our nodes: the editor draws the definition's outputs, however many are wired.
  const ours = ourDefinition(n.type);
  const wired = Array.isArray(n.wires) ? n.wires.length : 0;
  return ours ? Math.max(ours.outputs, wired) : wired;
}

export function nodeBox(n: FlowNode): Box {
  const label = nodeLabel(n);
  const lines = 1;
  const w = Math.max(100, 20 * Math.ceil((labelWidth(label) + 50 + (hasInput(n) ? 7 : 0)) / 20));
  const h = Math.max(30, 6 + 24 * lines, outputCount(n) * 15);
  const x = Number(n.x);
  const y = Number(n.y);
  return { id: n.id, label, left: x - w / 2, right: x + w / 2, top: y - h / 2, bottom: y + h / 2 };
}

/** The pairs of nodes of one tab whose boxes overlap (touching is fine). */
export function overlaps(flow: FlowNode[]): Array<[Box, Box]> {
  const boxes = flow.filter((n) => typeof n.x === "number" && typeof n.y === "number").map(nodeBox);
  const out: Array<[Box, Box]> = [];
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const b = boxes[j];
      if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) out.push([a, b]);
    }
  return out;
}
