/**
 * Node-RED's HTTP stack as a default install serves it (node-red/red.js): one express app with the
 * admin app mounted at httpAdminRoot "/" first, then httpNode at httpNodeRoot "/". The admin app is
 * the test helper's, which carries the editor API's default body parsers (JSON and urlencoded,
 * 5 MB, extended): every request to a node's route passes them first, as in a real Node-RED.
 */
import express from "express";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { nr } from "../nr";

type App = http.RequestListener & { use(path: string, app: unknown): unknown };

/** The server app for the flow loaded now: rebuilt when a new flow brought a new httpNode. */
const servers = new WeakMap<object, App>();
function appFor(httpNode: object): App {
  let app = servers.get(httpNode);
  if (!app) {
    app = express() as unknown as App;
    app.use("/", nr.helper._httpAdmin);
    app.use("/", httpNode);
    servers.set(httpNode, app);
  }
  return app;
}

/** A server in front of whichever httpNode `red()` names at each request. */
export async function nodeRedServer(
  red: () => { httpNode: object } | null,
): Promise<{ url: string; port: number; server: http.Server; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const r = red();
    if (!r) return res.end();
    appFor(r.httpNode)(req, res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
