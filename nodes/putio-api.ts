/**
 * putio-api: calls any put.io route (subtitles, mp4, shares, friends, config…) with the account's
 * shared client, so auth, rate limits, retries and error envelopes work as in every other node.
 */
import { useAccount } from "./common/account";
import { onInput } from "./common/input";
import { STATUS, type NodeAPI, type Node, type NodeDef } from "./common/node-api";

interface ApiDef extends NodeDef {
  account: string;
  /** Empty: msg.method (else GET). */
  method?: string;
  /** Empty: msg.path. */
  path?: string;
  encoding?: "auto" | "form" | "json";
}

export = function (RED: NodeAPI): void {
  function PutioApiNode(this: Node, def: ApiDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const account = useAccount(RED, node, def.account);
    const closing = new AbortController();

    onInput(
      node,
      account,
      async ({ msg, send, status }) => {
        // The node's fields win; msg.method / msg.path fill only what the node leaves empty.
        const method = def.method?.trim() || (typeof msg.method === "string" ? msg.method : undefined) || "GET";
        const path = def.path?.trim() || msg.path;
        const payload = msg.payload;
        const params = payload && typeof payload === "object" && !Array.isArray(payload) && !Buffer.isBuffer(payload) ? (payload as Record<string, unknown>) : undefined;
        status(STATUS.busy(`${String(method).toUpperCase()} …`));
        const client = await account!.ready();
        const answer = await client.api.call({ method, path: path as string, params, encoding: def.encoding, signal: closing.signal });
        msg.payload = answer.body;
        msg.statusCode = answer.statusCode;
        msg.headers = answer.headers;
        msg.topic = msg.topic ?? `putio/api`;
        send(msg);
      },
    );

    node.on("close", (_removed: boolean, done: () => void) => {
      closing.abort(new Error("node closed"));
      done();
    });
  }
  RED.nodes.registerType("putio-api", PutioApiNode);
};
