/**
 * The editor's "put.io" sidebar tab, runtime side: per account, one publisher that gathers what the
 * package already knows (the account info read at validation, the transfers the account's watcher
 * sees, the downloads of its scheduler, the last errors of its nodes) and publishes it over Node-RED's
 * comms as `putio/sidebar/<account id>`, retained, at most once a second. It makes no put.io request
 * and starts nothing: transfers show only while a watcher of the account runs for its own users.
 * Each Transmission node of the account adds a section of its torrents (lib/transmission/status.ts),
 * read from memory once a second and published only when it changed.
 * Never published: the token, signed storage URLs, local paths.
 */
import { redact } from "../../lib/core/errors";
import { hideStorageUrls } from "../../lib/copy/redact";
import type { Transfer } from "../../lib/domains/transfers";
import { DownloadScheduler, type DownloadSighting } from "../../lib/download/scheduler";
import type { TorrentStatus } from "../../lib/transmission/status";
import { TransferWatcher, type TransferSighting } from "../../lib/watch/watcher";
import type { AccountNode, AccountState } from "./account";
import { renderText } from "./errors";
import type { Node, NodeAPI } from "./node-api";

/** At most one publish per account per this many ms. */
export const PUBLISH_MS = 1000;
const MAX_TRANSFERS = 20;
/** Finished or failed downloads kept in view (running ones are all shown). */
const MAX_ENDED = 10;
const MAX_ERRORS = 10;
/** Torrents per Transmission node (running ones first, then the most recent). */
export const MAX_TORRENTS = 20;
/** Names and texts are cut here: the sidebar is narrow and a hostile name must not bloat every publish. */
const MAX_TEXT = 300;

export interface SidebarTransfer {
  id: number;
  name: string;
  status: string;
  percent: number | null;
}

export interface SidebarDownload {
  fileId: number;
  name: string;
  status: "running" | "retrying" | "done" | "skipped" | "failed";
  percent: number;
  bytes: number;
  size: number;
  bytesPerSecond: number;
  /** Seconds left at the current speed; null when unknown (no speed yet, or ended). */
  eta: number | null;
  error?: string;
}

export interface SidebarError {
  time: number;
  nodeId: string;
  node: string;
  text: string;
}

/** A torrent as lib/transmission/status.ts sees it, its error text rendered in the runtime's language. */
export type SidebarTorrent = Omit<TorrentStatus, "error" | "at"> & { error: string | null };

/** One Transmission node's torrents. */
export interface SidebarTransmission {
  nodeId: string;
  node: string;
  /** Torrents the node has (the list holds at most MAX_TORRENTS of them). */
  total: number;
  torrents: SidebarTorrent[];
}

/** What a Transmission node lets the sidebar read (from memory, never from put.io). */
export interface TorrentSource {
  list(max: number): { total: number; torrents: TorrentStatus[] };
}

export interface SidebarState {
  id: string;
  name: string;
  state: AccountState;
  user: { username: string; disk: { used: number; size: number; avail: number } } | null;
  /** null: no watcher of this account runs (nothing to show without a request of our own). */
  transfers: SidebarTransfer[] | null;
  downloads: SidebarDownload[];
  errors: SidebarError[];
  /** Present while a Transmission node of this account runs: one section per node. */
  transmission?: SidebarTransmission[];
}

export const TOPIC_PREFIX = "putio/sidebar/";

/** A text to show: only strings and numbers (a pushed value may be anything), bounded (never half a surrogate pair). */
const cut = (s: unknown): string => {
  const text = typeof s === "string" ? s : typeof s === "number" && Number.isFinite(s) ? String(s) : "";
  if (text.length <= MAX_TEXT) return text;
  const end = /[\uD800-\uDBFF]/.test(text[MAX_TEXT - 1]!) ? MAX_TEXT - 1 : MAX_TEXT;
  return text.slice(0, end);
};
const finite = (n: unknown): number | null => (typeof n === "number" && Number.isFinite(n) ? n : null);

export class SidebarPublisher {
  private readonly transfers = new Map<number, SidebarTransfer>();
  private readonly downloads = new Map<number, SidebarDownload>();
  private readonly errors: SidebarError[] = [];
  private readonly watchers = new Map<TransferWatcher, () => void>();
  private readonly schedulers = new Map<DownloadScheduler, () => void>();
  private readonly torrentSources = new Map<string, { node: Node; source: TorrentSource }>();
  /** The torrent sections as last published (JSON), and the tick that compares them with now. */
  private torrentsJson = "";
  private torrentTick: NodeJS.Timeout | null = null;
  private readonly offState: () => void;
  private timer: NodeJS.Timeout | null = null;
  private lastAt = 0;
  private closed = false;

  constructor(
    private readonly RED: NodeAPI,
    private readonly account: AccountNode,
  ) {
    this.offState = account.onStateChange(() => this.changed());
    this.changed();
  }

  get topic(): string {
    return TOPIC_PREFIX + this.account.id;
  }

  /** A service the account now shares: watchers and schedulers are observed (never subscribed to). */
  attach(service: unknown): void {
    if (this.closed) return;
    if (service instanceof TransferWatcher && !this.watchers.has(service)) {
      this.watchers.set(
        service,
        service.observe((s) => this.onTransfer(s)),
      );
      this.changed();
    } else if (service instanceof DownloadScheduler && !this.schedulers.has(service)) {
      this.schedulers.set(
        service,
        service.observe((s) => this.onDownload(s)),
      );
    }
  }

  detach(service: unknown): void {
    const off = this.watchers.get(service as TransferWatcher) ?? this.schedulers.get(service as DownloadScheduler);
    if (!off) return;
    off();
    this.watchers.delete(service as TransferWatcher);
    this.schedulers.delete(service as DownloadScheduler);
    if (!this.watchers.size) this.transfers.clear();
    this.changed();
  }

  /** A node of this account showed an error. */
  error(node: Node, err: Error): void {
    if (this.closed) return;
    const name = (node as unknown as { name?: string }).name || node.type;
    this.errors.unshift({ time: Date.now(), nodeId: node.id, node: cut(this.clean(name)), text: cut(this.clean(String(err.message))) });
    this.errors.length = Math.min(this.errors.length, MAX_ERRORS);
    this.changed();
  }

  /**
   * A Transmission node's torrents, shown while it runs: read once a second (memory only) and
   * published when they changed. Returns the function that removes the section.
   */
  torrents(node: Node, source: TorrentSource): () => void {
    if (this.closed) return () => {};
    const entry = { node, source };
    this.torrentSources.set(node.id, entry);
    if (!this.torrentTick) {
      this.torrentTick = setInterval(() => {
        if ((JSON.stringify(this.torrentSections()) ?? "") !== this.torrentsJson) this.changed();
      }, PUBLISH_MS);
      this.torrentTick.unref?.();
    }
    this.changed();
    return () => {
      if (this.torrentSources.get(node.id) !== entry) return;
      this.torrentSources.delete(node.id);
      if (!this.torrentSources.size) this.stopTick();
      this.changed();
    };
  }

  /** What is published now. */
  snapshot(): SidebarState {
    const info = this.account.info;
    const transfers = [...this.transfers.values()].sort((a, b) => b.id - a.id).slice(0, MAX_TRANSFERS);
    const state: SidebarState = {
      id: this.account.id,
      name: cut((this.account as unknown as { name?: string }).name ?? ""),
      state: this.account.state,
      user: info ? { username: cut(info.username), disk: { used: info.disk.used, size: info.disk.size, avail: info.disk.avail } } : null,
      transfers: this.watchers.size ? transfers : null,
      downloads: [...this.downloads.values()],
      errors: [...this.errors],
    };
    const sections = this.torrentSections();
    if (sections) state.transmission = sections;
    return state;
  }

  /** The Transmission nodes' sections, by node name; undefined when none runs. */
  private torrentSections(): SidebarTransmission[] | undefined {
    if (!this.torrentSources.size) return undefined;
    const sections: SidebarTransmission[] = [];
    for (const { node, source } of this.torrentSources.values()) {
      let list: { total: number; torrents: TorrentStatus[] };
      try {
        list = source.list(MAX_TORRENTS);
      } catch {
        continue; // a node closing meanwhile: its section goes
      }
      const name = (node as unknown as { name?: string }).name || node.type;
      sections.push({
        nodeId: node.id,
        node: cut(this.clean(name)),
        total: list.total,
        torrents: list.torrents.slice(0, MAX_TORRENTS).map((x) => this.torrent(x)),
      });
    }
    return sections.sort((a, b) => a.node.localeCompare(b.node) || a.nodeId.localeCompare(b.nodeId));
  }

  private torrent(x: TorrentStatus): SidebarTorrent {
    const error = x.error === null ? null : typeof x.error === "string" ? x.error : renderText(this.RED, x.error);
    return {
      id: x.id,
      name: cut(this.clean(x.name || String(x.id))),
      category: cut(this.clean(x.category)),
      phase: x.phase,
      putioPercent: x.putioPercent,
      localBytes: x.localBytes,
      size: x.size,
      bytesPerSecond: x.bytesPerSecond,
      eta: x.eta,
      seeding: x.seeding ? { ...x.seeding } : null,
      error: error === null ? null : cut(this.clean(error)),
      cleanup: x.cleanup ? { ...x.cleanup } : null,
    };
  }

  private stopTick(): void {
    if (this.torrentTick) clearInterval(this.torrentTick);
    this.torrentTick = null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.offState();
    for (const off of [...this.watchers.values(), ...this.schedulers.values()]) off();
    this.watchers.clear();
    this.schedulers.clear();
    this.torrentSources.clear();
    this.stopTick();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // Not retained: the editor drops the account, and a new editor does not see it at all.
    this.RED.comms.publish(this.topic, { id: this.account.id, removed: true }, false);
  }

  /** No token, no signed storage URL (put.io's error texts may quote one). */
  private clean(text: string): string {
    return hideStorageUrls(redact(text, this.account.tokenForRedaction()));
  }

  private onTransfer(s: TransferSighting): void {
    if (s.kind === "listed") return;
    if (s.kind === "gone") {
      if (this.transfers.delete(s.id)) this.changed();
      return;
    }
    const t = s.transfer as Partial<Transfer> & Record<string, unknown>;
    if (typeof t.id !== "number") return;
    const percent = finite(t.percent_done);
    this.transfers.set(t.id, {
      id: t.id,
      name: cut(this.clean(cut(t.name) || String(t.id))),
      status: cut(t.status).slice(0, 40),
      percent: percent === null ? null : Math.max(0, Math.min(100, percent)),
    });
    this.changed();
  }

  private onDownload(s: DownloadSighting): void {
    if (s.kind === "progress") {
      const p = s.progress;
      const left = Math.max(0, p.size - p.bytes);
      this.downloads.set(p.fileId, {
        fileId: p.fileId,
        name: cut(this.clean(p.putioPath || p.name)),
        status: p.retrying ? "retrying" : "running",
        percent: p.percent,
        bytes: p.bytes,
        size: p.size,
        bytesPerSecond: p.bytesPerSecond,
        eta: p.bytesPerSecond > 0 ? Math.ceil(left / p.bytesPerSecond) : null,
      });
    } else if (s.kind === "file") {
      const r = s.result;
      this.end({
        fileId: r.fileId,
        name: cut(this.clean(r.putioPath || r.name)),
        status: r.status === "downloaded" ? "done" : "skipped",
        percent: 100,
        bytes: r.size,
        size: r.size,
        bytesPerSecond: r.bytesPerSecond,
        eta: null,
      });
    } else if (s.kind === "failed") {
      const was = this.downloads.get(s.fileId);
      this.end({
        fileId: s.fileId,
        name: was?.name ?? cut(this.clean(s.putioPath || s.name)),
        status: "failed",
        percent: was?.percent ?? 0,
        bytes: was?.bytes ?? 0,
        size: was?.size ?? 0,
        bytesPerSecond: 0,
        eta: null,
        error: cut(this.clean(s.error.message)),
      });
    } else if (!this.downloads.delete(s.fileId)) return;
    this.changed();
  }

  /** A download ended: kept in view among the last MAX_ENDED that ended. */
  private end(d: SidebarDownload): void {
    this.downloads.delete(d.fileId);
    this.downloads.set(d.fileId, d);
    const ended = [...this.downloads.values()].filter((x) => x.status !== "running" && x.status !== "retrying");
    for (const old of ended.slice(0, Math.max(0, ended.length - MAX_ENDED))) this.downloads.delete(old.fileId);
  }

  /** Something changed: publish now, or once the second since the last publish is over. */
  private changed(): void {
    if (this.closed || this.timer) return;
    const wait = Math.max(0, this.lastAt + PUBLISH_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.closed) return;
      this.lastAt = Date.now();
      const state = this.snapshot();
      this.torrentsJson = JSON.stringify(state.transmission) ?? "";
      this.RED.comms.publish(this.topic, state, true);
    }, wait);
    this.timer.unref?.();
  }
}

const publishers = new WeakMap<object, SidebarPublisher>();

/** The account's publisher, started with the account node. */
export function startSidebar(RED: NodeAPI, account: AccountNode): SidebarPublisher {
  const p = new SidebarPublisher(RED, account);
  publishers.set(account, p);
  return p;
}

/** A Transmission node's torrents in its account's section of the tab, until the returned function is called. */
export function sidebarTorrents(account: AccountNode, node: Node, source: TorrentSource): () => void {
  return publishers.get(account)?.torrents(node, source) ?? (() => {});
}

/** A node shows an error: it goes to its account's sidebar too (a node without account has none). */
export function sidebarError(account: AccountNode | null, node: Node, err: Error): void {
  if (account) publishers.get(account)?.error(node, err);
}
