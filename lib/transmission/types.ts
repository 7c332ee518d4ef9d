/**
 * The Transmission engine's shapes shared by its files: the state it keeps (and the store that
 * keeps it), its lifecycle events and the options the node gives it.
 */
import type { OwnershipLedger } from "../local/ownership";
import type { PutioClient } from "../client";
import type { SocketEvent } from "../core/socket";
import type { Text } from "../core/texts";
import type { DownloadJob, JobResult } from "../download/scheduler";
import type { ChangeListener } from "../watch/watcher";
import type { TorrentRecord } from "./model";
import type { OwnerSettings } from "./owner";
import type { SkipExtras } from "./skip";

export type CleanupPolicy = "trash" | "delete" | "keep";

export interface PersistedState {
  version: 1;
  nextId: number;
  torrents: TorrentRecord[];
  /** session-set values kept (they change nothing on put.io). */
  session: Record<string, unknown>;
  /** put.io folder id per category ("" = the root folder), for offering transfers added elsewhere. */
  folders: Record<string, number>;
  /** Removals put.io has not taken yet: retried until done. */
  cleanups?: PendingCleanup[];
}

/** What put.io must still do for a removed torrent. */
export interface PendingCleanup {
  /** The torrent as it was removed (for the report when done). */
  record: TorrentRecord;
  fileIds: number[];
  skipTrash: boolean;
  removeTransferId: number | null;
  cancelTransferId: number | null;
  /** Epoch ms of the removal. */
  since: number;
  attempts: number;
  /** Why the last attempt failed, in English (what older versions stored); null: none failed yet. */
  error: string | null;
  /** The same as a text by code: shown in the runtime's language. */
  errorText?: Text;
}

export interface StateStore {
  load(): Promise<PersistedState | null>;
  save(state: PersistedState): Promise<void>;
  close?(): void;
}

export type LifecycleType = "added" | "putio-done" | "copying" | "on-disk" | "seeding-stopped" | "failed" | "removed" | "cleaned";

export interface LifecycleEvent {
  type: LifecycleType;
  torrent: TorrentRecord;
  /** removed: what happened on put.io and locally. */
  detail?: Record<string, unknown>;
}

export interface ManagerOptions {
  client: PutioClient;
  scheduler: { run(job: DownloadJob): Promise<JobResult> };
  watcher: { subscribe(l: ChangeListener, wants?: ((s: string) => boolean) | null): () => void; reconcile(): Promise<void> };
  /** The account socket's pushes, for progress between status changes (optional). */
  socket?: { on(e: "event", l: (ev: SocketEvent) => void): unknown; off(e: "event", l: (ev: SocketEvent) => void): unknown } | null;
  store: StateStore;
  /** Absolute local folder every torrent lands under. */
  localRoot: string;
  /** The download dir the apps are told (default: localRoot); a different one when they see the folder under another path. */
  sessionDir?: string;
  /** put.io folder path the transfers are saved under ("/" = the root). */
  putioRoot: string;
  cleanup: CleanupPolicy;
  /** Also offer transfers added on put.io by other means into a category folder. */
  adopt?: boolean;
  /** Refuse a transfer whose only files are archives (the apps would import nothing). Default true. */
  failArchiveOnly?: boolean;
  /** Extract archives on put.io before the local copy, which then takes what came out (parts kept only if asked). */
  extract?: { password?: string; keepArchives?: boolean } | null;
  /** Copy a video's MP4 version when put.io has one ready. */
  preferMp4?: boolean;
  /** Write put.io's subtitles beside each copied video (`<video>.<lang>.srt`); languages "" = the account's. */
  subtitles?: { languages?: string; ledger?: OwnershipLedger } | null;
  /** Leave samples and extras on put.io (skip.ts): "categories" (default: torrents in an app's category folder), "all", "none". */
  skipExtras?: SkipExtras;
  /** Owner and mode of the files the copy writes and the folders it creates (owner.ts); null: as the process makes them. */
  owner?: OwnerSettings | null;
  /** The current HTTP session id, shown in session-get. */
  sessionId?: () => string;
  onEvent?: (e: LifecycleEvent) => void;
  onError?: (err: Error) => void;
  /** Something changed (for a status line). */
  onChange?: () => void;
  now?: () => number;
}
