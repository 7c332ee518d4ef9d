/**
 * The put.io side of a torrent: what a transfer as put.io reports it (the watcher's re-read
 * transfer, a socket push) means for the torrent's record and live progress, put.io's seeding,
 * transfers offered from a category folder, and the transfer started for an add. Pure mappings
 * where it can be; the manager decides what follows (the local copy, a failure).
 */
import { createHash } from "node:crypto";
import type { PutioClient } from "../client";
import { t, type Text } from "../core/texts";
import { statusClass, type Transfer } from "../domains/transfers";
import { sanitizeName } from "../local/names";
import { secondsSeeding, type LiveProgress, type SeedingState, type TorrentRecord } from "./model";
import { posixDir, type Place } from "./placement";
import { RpcError, type AddArgs } from "./rpc";
import { SourceError, normalHash, parseMagnet, parseMetainfo, type TorrentSource } from "./sources";

/** What a re-read transfer asks of the manager: the local copy, a failure, or nothing. */
export type TransferStep = { kind: "copy" } | { kind: "failed"; text: Text } | null;

/**
 * A transfer re-read from put.io applied to its torrent: live progress always; size, name and the
 * finished file only while the torrent is on put.io (after that the local copy owns them).
 */
export function applyTransfer(r: TorrentRecord, live: LiveProgress, tr: Transfer, nowMs: number): TransferStep {
  live.putioStatus = tr.status;
  if (typeof tr.percent_done === "number") live.putioPercent = tr.percent_done;
  live.activityAt = Math.floor(nowMs / 1000);
  if (r.phase !== "putio") return null;
  if (typeof tr.size === "number" && tr.size > 0) r.size = tr.size;
  if (tr.name && r.name === r.hash) r.name = tr.name;
  if (statusClass(tr.status) === "COMPLETED" && typeof tr.file_id === "number" && tr.file_id > 0) {
    r.fileId = tr.file_id;
    r.putioDoneAt = Math.floor(nowMs / 1000);
    live.putioPercent = 100;
    return { kind: "copy" };
  }
  if (tr.status === "ERROR") {
    const message = tr.error_message?.trim();
    return { kind: "failed", text: message ? t("transmission.putio-error", { message }) : t("transmission.putio-failed") };
  }
  return null;
}

/** A socket push's progress (trusted for progress only; phases change on the watcher's re-read transfer). */
export function applyPush(r: TorrentRecord, live: LiveProgress, v: Record<string, unknown>, nowMs: number): void {
  if (r.phase !== "putio") return;
  if (typeof v.percent_done === "number" && v.percent_done >= 0 && v.percent_done <= 100) live.putioPercent = v.percent_done;
  if (typeof v.down_speed === "number" && v.down_speed >= 0) live.putioSpeed = v.down_speed;
  live.putioEta = typeof v.estimated_time === "number" && v.estimated_time >= 0 ? v.estimated_time : null;
  if (typeof v.size === "number" && v.size > 0) r.size = v.size;
  live.activityAt = Math.floor(nowMs / 1000);
}

/**
 * put.io's seeding of a transfer (core/quirks.ts "seeding"): SEEDING after the download, with its
 * ratio, uploaded bytes and seconds seeding; COMPLETED once it stopped. The new state, or null
 * when the transfer says nothing about seeding.
 */
export function seedingFrom(prev: SeedingState | undefined, tr: Partial<Transfer> & Record<string, unknown>, nowSec: number): SeedingState | null {
  const seedingNow = tr.status === "SEEDING" || tr.status === "PREPARING_SEED";
  if (!seedingNow && !(prev && !prev.stopped && tr.status === "COMPLETED")) return null;
  const num = (v: unknown) => (typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN);
  const ratio = num(tr.current_ratio);
  const uploaded = num(tr.uploaded);
  const seconds = num(tr.seconds_seeding);
  return {
    stopped: !seedingNow,
    ratio: Number.isFinite(ratio) && ratio >= 0 ? ratio : (prev?.ratio ?? 0),
    uploaded: Number.isFinite(uploaded) && uploaded >= 0 ? uploaded : (prev?.uploaded ?? 0),
    seconds: Number.isFinite(seconds) && seconds >= 0 ? seconds : secondsSeeding(prev, nowSec),
    at: nowSec,
  };
}

/** The put.io folder and its sub-folders are the categories transfers can be offered from (two requests, at start). */
export async function learnCategoryFolders(client: PutioClient, putioRoot: string, folders: Record<string, number>): Promise<void> {
  const rootId = await client.folderId(posixDir(putioRoot || "/"), { create: false });
  if (rootId === null) return;
  folders[""] = rootId;
  for await (const f of client.files.list(rootId)) {
    if (f.file_type === "FOLDER" && folders[f.name] === undefined && sanitizeName(f.name) === f.name) folders[f.name] = f.id;
  }
}

/** The category of a transfer added on put.io by other means into a known category folder, if it may be offered. */
export function adoptableCategory(tr: Transfer, folders: Record<string, number>): string | undefined {
  if (tr.save_parent_id === null || tr.save_parent_id === undefined || tr.status === "ERROR") return undefined;
  return Object.keys(folders).find((c) => folders[c] === tr.save_parent_id);
}

/** The hash a transfer offered from a folder is known by (put.io's, or one made from its id). */
export function adoptedHash(tr: Transfer): string {
  return normalHash(tr.hash ?? "") ?? createHash("sha1").update(`putio-transfer:${tr.id}`).digest("hex");
}

/** What a torrent-add gives: a .torrent, a magnet or a URL of a .torrent, read before anything reaches put.io. */
export function sourceOfAdd(a: AddArgs): TorrentSource {
  try {
    if (a.metainfo) return parseMetainfo(a.metainfo);
    if (/^magnet:/i.test(a.filename ?? "")) return parseMagnet(a.filename!);
    if (/^https?:\/\//i.test(a.filename ?? "")) return { kind: "url", hash: null, name: null, size: null, fileCount: null };
  } catch (err) {
    if (err instanceof SourceError) throw new RpcError(`invalid or corrupt torrent file: ${err.message}`);
    throw err;
  }
  throw new RpcError("filename must be a magnet link or an http(s) URL of a .torrent (a local file goes as metainfo)");
}

/** The transfer an add starts on put.io: the .torrent uploaded, or the magnet/URL added, into the category's folder. */
export async function startTransfer(client: PutioClient, a: AddArgs, src: TorrentSource, place: Place, folders: Record<string, number>): Promise<Transfer> {
  const folderId = await client.folderId(place.putioPath, { create: true });
  if (folderId === null) throw new RpcError(`the put.io folder "${place.putioPath}" could not be created`);
  folders[place.category] = folderId;
  if (a.metainfo) {
    const name = `${sanitizeName(src.name ?? src.hash ?? "torrent")}.torrent`;
    const up = await client.upload.upload(a.metainfo, name, { parentId: folderId });
    if (up.kind !== "transfer") throw new RpcError("put.io stored the .torrent as a file instead of starting a transfer");
    return up.transfer;
  }
  return client.transfers.add(a.filename!, { saveParentId: folderId });
}

/** The hash an added torrent is known by: its own, put.io's, or one made from what was added. */
export function addedHash(a: AddArgs, src: TorrentSource, tr: Transfer): string {
  return (
    src.hash ??
    normalHash(tr.hash ?? "") ??
    createHash("sha1")
      .update(a.filename ?? "")
      .digest("hex")
  );
}
