/**
 * The small slice of Node-RED's runtime API the adapters use, typed once. (@types/node-red is
 * typed for 1.3 and says getNode never returns null; it does.)
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";

export type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow };
export type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
export type Done = (err?: Error) => void;
export type Msg = NodeMessageInFlow & Record<string, unknown>;

/** Node-RED status shapes used across the package. */
export const STATUS = {
  clear: {},
  busy: (text: string) => ({ fill: "blue", shape: "dot", text }) as const,
  ok: (text: string) => ({ fill: "green", shape: "dot", text }) as const,
  idle: (text: string) => ({ fill: "grey", shape: "ring", text }) as const,
  warn: (text: string) => ({ fill: "yellow", shape: "ring", text }) as const,
  error: (text: string) => ({ fill: "red", shape: "ring", text }) as const,
};

/**
 * Evaluate a typedInput property. Always the callback form: since Node-RED 4 the jsonata type
 * throws without one, and flow/global stores may be asynchronous.
 */
export function evalProp(RED: NodeAPI, node: Node, value: unknown, type: string | undefined, msg: NodeMessageInFlow | undefined): Promise<unknown> {
  if (!type) return Promise.resolve(value);
  return new Promise((resolve, reject) => {
    RED.util.evaluateNodeProperty(String(value ?? ""), type, node, msg as NodeMessage, (err: Error | null, result: unknown) =>
      err ? reject(err) : resolve(result),
    );
  });
}

/** Short status text (Node-RED shows about 20-30 characters well). */
export function shortText(s: string, max = 40): string {
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}
