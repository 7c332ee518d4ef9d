/**
 * Where the torrents' state lives: put.io's per-app config store (`/v2/config/<key>`), not Node-RED
 * context. Why: Node-RED's default context store is memory (gone on a restart), while this state
 * must outlive restarts, a re-install of Node-RED and a cleared put.io transfer list; on put.io it
 * stays with the account it describes. It costs one request per change of phase (never per poll),
 * and what is read back is checked, record by record, before use (the manager also re-derives every
 * local path from the node's own settings, so a stored path can never point outside the local root).
 */
import * as fsp from "node:fs/promises";
import { isText } from "../core/texts";
import type { PutioClient } from "../client";
import type { TorrentRecord, WrittenFile } from "./model";
import type { PendingCleanup, PersistedState, StateStore } from "./types";
import { StateFile } from "../local/state-file";

/** One key per RPC path, so several nodes (several paths) keep separate states. */
export function stateKey(rpcPath: string): string {
  return `node-red-transmission_${rpcPath.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 100)}`;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const int = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);
const intOrNull = (v: unknown) => v === null || int(v);
const str = (v: unknown): v is string => typeof v === "string";
const PHASES = new Set(["putio", "local", "done", "failed"]);

/** A stored record as far as it can be trusted; null when it is not one. */
export function readRecord(v: unknown): TorrentRecord | null {
  if (!isObj(v)) return null;
  if (!int(v.id) || v.id <= 0 || !str(v.hash) || !/^[0-9a-f]{40}$/.test(v.hash) || !str(v.name) || !str(v.category)) return null;
  if (!str(v.phase) || !PHASES.has(v.phase) || !intOrNull(v.transferId) || !intOrNull(v.fileId)) return null;
  const files = Array.isArray(v.files) ? v.files.filter((f): f is { name: string; length: number } => isObj(f) && str(f.name) && int(f.length)) : [];
  const seed = isObj(v.seed) ? v.seed : {};
  return {
    id: v.id,
    hash: v.hash,
    name: v.name,
    category: v.category,
    downloadDir: str(v.downloadDir) ? v.downloadDir : "",
    localDir: str(v.localDir) ? v.localDir : "",
    transferId: v.transferId as number | null,
    fileId: v.fileId as number | null,
    phase: v.phase as TorrentRecord["phase"],
    error: str(v.error) ? v.error : null,
    ...(isText(v.errorText) ? { errorText: v.errorText } : {}),
    labels: Array.isArray(v.labels) ? v.labels.filter(str).slice(0, 100) : [],
    addedAt: int(v.addedAt) ? v.addedAt : 0,
    putioDoneAt: int(v.putioDoneAt) ? v.putioDoneAt : null,
    doneAt: int(v.doneAt) ? v.doneAt : null,
    size: int(v.size) && v.size >= 0 ? v.size : 0,
    fileCount: int(v.fileCount) && v.fileCount >= 0 ? v.fileCount : 1,
    topPath: str(v.topPath) ? v.topPath : null,
    files,
    seed: Object.fromEntries(
      ["seedRatioLimit", "seedRatioMode", "seedIdleLimit", "seedIdleMode"].filter((k) => typeof seed[k] === "number").map((k) => [k, seed[k] as number]),
    ),
    origin: v.origin === "adopted" ? "adopted" : "rpc",
    ...(readExtracted(v.extracted) ?? {}),
    ...(Array.isArray(v.skipped) && v.skipped.every(str) ? { skipped: v.skipped.slice(0, 10_000) } : {}),
    ...readLocalCopy(v),
    ...readSeeding(v.seeding),
  };
}

/** A relative path with no empty, "." or ".." segment: it can only name something below the torrent's folder. */
export function isRelativeName(v: unknown): v is string {
  return typeof v === "string" && v.length > 0 && v.length <= 4096 && !v.includes("\0") && v.split("/").every((s) => s !== "" && s !== "." && s !== "..");
}

function readSeeding(v: unknown): Pick<TorrentRecord, "seeding"> {
  const num = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x) && x >= 0;
  if (!isObj(v) || typeof v.stopped !== "boolean" || !num(v.ratio) || !num(v.uploaded) || !num(v.seconds) || !num(v.at)) return {};
  return { seeding: { stopped: v.stopped, ratio: v.ratio, uploaded: v.uploaded, seconds: v.seconds, at: v.at } };
}

/** What the node wrote and created locally, entry by entry as far as it can be trusted. */
function readLocalCopy(v: Record<string, unknown>): Pick<TorrentRecord, "written" | "createdDirs" | "copying"> {
  const out: Pick<TorrentRecord, "written" | "createdDirs" | "copying"> = {};
  if (Array.isArray(v.written))
    out.written = v.written.filter(
      (w): w is WrittenFile => isObj(w) && isRelativeName(w.name) && int(w.length) && typeof w.mtimeMs === "number" && Number.isFinite(w.mtimeMs) && int(w.ino),
    );
  if (Array.isArray(v.createdDirs)) out.createdDirs = v.createdDirs.filter(isRelativeName);
  if (Array.isArray(v.copying))
    out.copying = v.copying.filter(
      (c): c is { fileId: number; dir: string } => isObj(c) && int(c.fileId) && c.fileId > 0 && (c.dir === "" || isRelativeName(c.dir)),
    );
  return out;
}

/** A stored extraction, when every field is what it must be (ids are only used to pick files on put.io). */
function readExtracted(v: unknown): { extracted: NonNullable<TorrentRecord["extracted"]> } | null {
  if (!isObj(v) || !Array.isArray(v.archives) || !Array.isArray(v.partIds) || !Array.isArray(v.topIds)) return null;
  if (!v.archives.every(str) || !v.partIds.every(int) || !v.topIds.every(int)) return null;
  return { extracted: { archives: v.archives.slice(0, 1000), partIds: v.partIds.slice(0, 100_000), topIds: v.topIds.slice(0, 100_000) } };
}

export function readState(v: unknown): PersistedState | null {
  if (!isObj(v) || v.version !== 1 || !Array.isArray(v.torrents)) return null;
  const torrents = v.torrents.map(readRecord).filter((r): r is TorrentRecord => r !== null);
  const folders: Record<string, number> = {};
  if (isObj(v.folders)) for (const [k, id] of Object.entries(v.folders)) if (int(id) && id > 0 && k.length <= 1024) folders[k] = id;
  const session: Record<string, unknown> = {};
  if (isObj(v.session)) for (const [k, x] of Object.entries(v.session)) if (x === null || ["string", "number", "boolean"].includes(typeof x)) session[k] = x;
  const cleanups = Array.isArray(v.cleanups) ? v.cleanups.map(readCleanup).filter((c): c is PendingCleanup => c !== null) : [];
  return { version: 1, nextId: int(v.nextId) && v.nextId > 0 ? v.nextId : 1, torrents, session, folders, cleanups };
}

/** A stored pending clean-up; its ids only ever name the removed torrent's own file and transfer. */
function readCleanup(v: unknown): PendingCleanup | null {
  if (!isObj(v)) return null;
  const record = readRecord(v.record);
  if (!record || !Array.isArray(v.fileIds) || !v.fileIds.every((id) => int(id) && id > 0)) return null;
  if (!intOrNull(v.removeTransferId) || !intOrNull(v.cancelTransferId)) return null;
  return {
    record,
    fileIds: v.fileIds as number[],
    skipTrash: v.skipTrash === true,
    removeTransferId: v.removeTransferId as number | null,
    cancelTransferId: v.cancelTransferId as number | null,
    since: int(v.since) ? v.since : 0,
    attempts: int(v.attempts) ? v.attempts : 0,
    error: str(v.error) ? v.error : null,
    ...(isText(v.errorText) ? { errorText: v.errorText } : {}),
  };
}

export class PutioConfigStore implements StateStore {
  constructor(
    private readonly client: PutioClient,
    readonly key: string,
    private readonly signal?: AbortSignal,
  ) {}

  async load(): Promise<PersistedState | null> {
    return readState(await this.client.config.get(this.key, this.signal));
  }

  async save(state: PersistedState): Promise<void> {
    await this.client.config.set(this.key, state);
  }
}

/** The state in a local JSON file, replaced atomically (temp file + rename). */
export class FileStore implements StateStore {
  /** Writes one after another, each atomic with a temp name of its own (two saves never collide). */
  private readonly state: StateFile;
  constructor(readonly file: string) {
    this.state = new StateFile(file);
  }

  async load(): Promise<PersistedState | null> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    try {
      return readState(JSON.parse(text));
    } catch {
      return null; // a torn or foreign file: put.io's copy is read instead
    }
  }

  async save(state: PersistedState): Promise<void> {
    await this.state.write(JSON.stringify(state));
  }
}

/**
 * The state kept twice: a local file, read at once at a start (put.io may be unreachable then)
 * and written first on every change, and put.io's config store, which outlives the machine. A
 * write put.io refuses or cannot take is sent again, the newest state only, until it is taken;
 * only a failing local write fails a save.
 */
export class LayeredStore implements StateStore {
  private behind: PersistedState | null = null;
  private timer: NodeJS.Timeout | null = null;
  private pushing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly local: StateStore,
    private readonly remote: StateStore,
    private readonly opts: { retryMs?: number; onRemoteError?: (err: unknown) => void } = {},
  ) {}

  async load(): Promise<PersistedState | null> {
    const mine = await this.local.load().catch(() => null);
    if (mine) return mine;
    const theirs = await this.remote.load();
    if (theirs) await this.local.save(theirs).catch(() => {});
    return theirs;
  }

  async save(state: PersistedState): Promise<void> {
    await this.local.save(state);
    this.behind = state;
    await this.push();
  }

  /** put.io has every change (nothing waits to be sent again). */
  get inSync(): boolean {
    return this.behind === null;
  }

  private push(): Promise<void> {
    this.pushing ??= (async () => {
      try {
        while (this.behind && !this.closed) {
          const state = this.behind;
          try {
            await this.remote.save(state);
          } catch (err) {
            this.opts.onRemoteError?.(err);
            this.retryLater();
            return;
          }
          if (this.behind === state) this.behind = null;
        }
      } finally {
        this.pushing = null;
      }
    })();
    return this.pushing;
  }

  private retryLater(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.push();
    }, this.opts.retryMs ?? 30_000);
    this.timer.unref?.();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

/** A store in memory (tests, benchmarks). */
export class MemoryStore implements StateStore {
  value: unknown = null;
  writes = 0;
  async load(): Promise<PersistedState | null> {
    return readState(this.value);
  }
  async save(state: PersistedState): Promise<void> {
    this.writes++;
    this.value = JSON.parse(JSON.stringify(state));
  }
}
