/**
 * A Transmission RPC client that sends what Sonarr's and Radarr's TransmissionProxy send, in the
 * same order: a bare GET to learn the session id (409), then POSTs with Basic auth on every request
 * (even with an empty user), the session id header, and one retry after a 409 with a fresh id.
 */
import * as http from "node:http";
import { nodeRedServer } from "./node-red-http";

/** The RED the node got last: its httpNode is what an HTTP client reaches (the test helper serves no httpNode itself). */
let currentRED: { httpNode: http.RequestListener } | null = null;

/** The node module, wrapped so the spec learns its RED. */
export function withHttpNode(mod: (RED: any) => void): (RED: any) => void {
  return (RED: any) => {
    currentRED = RED;
    return mod(RED);
  };
}

/** Node-RED's default HTTP stack (its body parsers first) in front of whichever httpNode the current flow registered its routes on. */
export async function httpNodeServer(): Promise<{ url: string; close(): Promise<void> }> {
  return nodeRedServer(() => currentRED);
}

/** Poll until `pred` holds (the node works on its own clock: no fixed sleeps, no timing assertion). */
export async function until<T>(what: string, fn: () => Promise<T> | T, pred: (v: T) => boolean, tries = 400): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < tries; i++) {
    last = await fn();
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 500)}`);
}

/** The node answers torrent calls once its state is read from put.io ("starting: …" until then). */
export async function untilReady(c: ArrRpcClient): Promise<void> {
  await until(
    "the state to be read",
    () =>
      c.call("torrent-get", { fields: ["id"] }).then(
        () => true,
        (e: Error) => (/starting/.test(e.message) ? false : Promise.reject(e)),
      ),
    (ok) => ok,
  );
}

export interface RpcCall {
  method: string;
  arguments?: Record<string, unknown>;
  tag?: number;
}

export class ArrRpcClient {
  sessionId: string | null = null;
  /** Every HTTP exchange, for specs that check the sequence. */
  readonly log: Array<{ httpMethod: string; status: number; rpc?: string }> = [];

  constructor(
    readonly url: string,
    readonly username = "",
    readonly password = "",
  ) {}

  private headers(): Record<string, string> {
    const h: Record<string, string> = {
      Authorization: "Basic " + Buffer.from(`${this.username}:${this.password}`).toString("base64"),
      Accept: "application/json",
    };
    if (this.sessionId) h["X-Transmission-Session-Id"] = this.sessionId;
    return h;
  }

  /** The bare GET of AuthenticateClient: a 409 carries the id; anything else is an auth failure. */
  async authenticate(): Promise<void> {
    const res = await fetch(this.url, { method: "GET", headers: this.headers(), redirect: "manual" });
    await res.arrayBuffer();
    this.log.push({ httpMethod: "GET", status: res.status });
    if (res.status !== 409) throw new Error(`authentication failed: HTTP ${res.status}`);
    const id = res.headers.get("x-transmission-session-id");
    if (!id) throw new Error("Remote host did not return a Session Id.");
    this.sessionId = id;
  }

  async call(method: string, args?: Record<string, unknown>): Promise<Record<string, any>> {
    if (!this.sessionId) await this.authenticate();
    const body = JSON.stringify(args === undefined ? { method } : { method, arguments: args });
    const post = async () => {
      const res = await fetch(this.url, { method: "POST", headers: { ...this.headers(), "Content-Type": "application/json" }, body, redirect: "manual" });
      this.log.push({ httpMethod: "POST", status: res.status, rpc: method });
      return res;
    };
    let res = await post();
    if (res.status === 409) {
      await res.arrayBuffer();
      this.sessionId = null;
      await this.authenticate();
      res = await post();
    }
    if (res.status === 401) throw new Error("User authentication failed.");
    const json = (await res.json()) as { result: string; arguments: Record<string, any> };
    if (json.result !== "success") throw new Error(json.result);
    return json.arguments;
  }
}

/** Sonarr's torrent-get field list (TransmissionProxy.GetTorrentStatus, current). */
export const SONARR_FIELDS = [
  "id",
  "hashString",
  "name",
  "downloadDir",
  "totalSize",
  "leftUntilDone",
  "isFinished",
  "eta",
  "status",
  "secondsDownloading",
  "secondsSeeding",
  "errorString",
  "uploadedEver",
  "downloadedEver",
  "seedRatioLimit",
  "seedRatioMode",
  "seedIdleLimit",
  "seedIdleMode",
  "fileCount",
  "file-count",
  "labels",
];

/** Transmission status codes, as the apps' TransmissionTorrentStatus enum. */
export const TS = { Stopped: 0, CheckWait: 1, Check: 2, Queued: 3, Downloading: 4, SeedingWait: 5, Seeding: 6 };

/** The DownloadItemStatus Sonarr's and Radarr's TransmissionBase.GetItems derive from a torrent. */
export function arrItemStatus(t: Record<string, any>): "Warning" | "Queued" | "Completed" | "Downloading" {
  if (t.errorString) return "Warning";
  if (t.totalSize === 0) return "Queued";
  if (t.leftUntilDone === 0 && (t.status === TS.Stopped || t.status === TS.Seeding || t.status === TS.SeedingWait)) return "Completed";
  if (t.isFinished && t.status !== TS.Check && t.status !== TS.CheckWait) return "Completed";
  if (t.status === TS.Queued) return "Queued";
  return "Downloading";
}

/** HasReachedSeedLimit: whether the app's "remove completed downloads" may remove it. */
export function arrCanBeRemoved(t: Record<string, any>, config: Record<string, any>): boolean {
  const ratio = t.downloadedEver <= 0 ? 0 : t.uploadedEver / t.downloadedEver;
  const isStopped = t.status === TS.Stopped;
  const isSeeding = t.status === TS.Seeding;
  if (t.seedRatioMode === 1) {
    if (isStopped && ratio >= t.seedRatioLimit) return true;
  } else if (t.seedRatioMode === 0) {
    if (isStopped && config.seedRatioLimited && ratio >= config.seedRatioLimit) return true;
  }
  if (t.seedIdleMode === 1) {
    if ((isStopped || isSeeding) && t.secondsSeeding > t.seedIdleLimit * 60) return true;
  } else if (t.seedIdleMode === 0) {
    if (isStopped && config["idle-seeding-limit-enabled"]) return true;
  }
  return false;
}

/** The version check of Transmission.ValidateVersion: the number it reads from `version`. */
export function arrVersion(version: string): number[] {
  const m = /(?<!\(|(\d|\.)+)(\d|\.)+(?!\)|(\d|\.)+)/.exec(version);
  return (m?.[0] ?? "").split(".").map(Number);
}
