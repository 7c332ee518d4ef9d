/**
 * putio-api: calls any put.io route (subtitles, mp4, shares, friends, config…) with the account's
 * shared client, so auth, rate limits, retries and error envelopes work as in every other node.
 */
import { definePutioNode } from "./common/kernel";
import { STATUS, type NodeAPI, type NodeDef } from "./common/node-api";

interface ApiDef extends NodeDef {
  account: string;
  /** Empty: msg.method (else GET). */
  method?: string;
  /** Empty: msg.path. */
  path?: string;
  encoding?: "auto" | "form" | "json";
}

export = function (RED: NodeAPI): void {
  definePutioNode<ApiDef, ApiDef>(RED, {
    type: "putio-api",
    config: (def) => def,
    async input({ config, msg, send, status, client, signal, text }) {
      // The node's fields win; msg.method / msg.path fill only what the node leaves empty.
      const method = config.method?.trim() || (typeof msg.method === "string" ? msg.method : undefined) || "GET";
      const path = config.path?.trim() || msg.path;
      const payload = msg.payload;
      const params =
        payload && typeof payload === "object" && !Array.isArray(payload) && !Buffer.isBuffer(payload) ? (payload as Record<string, unknown>) : undefined;
      status(STATUS.busy(text("putio-api.status.calling", { method: String(method).toUpperCase() })));
      const answer = await client.api.call({ method, path: path as string, params, encoding: config.encoding, signal });
      msg.payload = answer.body;
      msg.statusCode = answer.statusCode;
      msg.headers = answer.headers;
      msg.topic = msg.topic ?? `putio/api`;
      send(msg);
    },
  });
};
