/**
 * The local side of a torrent: what the copy will need and what it wrote (kept in the torrent's
 * record, so a removal deletes exactly that), why a plan is refused, and the local clean-up of a
 * removal. The copy itself is the download engine's (the manager runs it).
 */
import { existsSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { PutioBaseError } from "../core/errors";
import { t, type Text } from "../core/texts";
import { sanitizeName, tempPaths } from "../local/names";
import type { TorrentRecord } from "./model";
import { isWithin, type Placement } from "./placement";

/** Files an *arr app cannot import (not only the volumes put.io extracts, media-jobs/archive-sets.ts). */
const ARCHIVE = /\.(rar|r\d{2}|zip|7z|tar|gz|tgz|bz2|xz|zst|iso)$/i;

/** An error as a text: lib/'s errors carry theirs; anything else (a system error) is shown as it is. */
export function errorText(err: unknown): Text {
  if (err instanceof PutioBaseError) return err.text;
  return t("plain", { text: err instanceof Error ? err.message : String(err) });
}

/**
 * Before the engine writes anything: where each file's temp files will be, and which of the
 * folders the copy needs do not exist yet (those are ours to remove again once empty). Names are
 * cleaned as the engine cleans them; a folder the engine names otherwise (a clash) is simply not
 * recorded, so it is kept: never the other way round.
 */
export function notePlan(r: TorrentRecord, files: Array<{ file: { id: number }; putioPath: string }>): void {
  const created = new Set(r.createdDirs ?? []);
  const copying: NonNullable<TorrentRecord["copying"]> = [];
  for (const f of files) {
    const dirs = f.putioPath.split("/").slice(0, -1).map(sanitizeName);
    copying.push({ fileId: f.file.id, dir: dirs.join("/") });
    for (let i = 1; i <= dirs.length; i++) {
      const rel = dirs.slice(0, i).join("/");
      if (!created.has(rel) && !existsSync(path.join(r.localDir, ...dirs.slice(0, i)))) created.add(rel);
    }
  }
  r.copying = copying;
  r.createdDirs = [...created];
}

/** A file the engine wrote for this torrent, as it is now on disk (what a removal may delete). */
export async function noteWritten(r: TorrentRecord, file: string): Promise<void> {
  const st = await fsp.lstat(file).catch(() => null);
  if (!st?.isFile() || !isWithin(r.localDir, file)) return;
  const name = path.relative(r.localDir, file).split(path.sep).join("/");
  const entry = { name, length: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
  r.written = [...(r.written ?? []).filter((w) => w.name !== name), entry];
}

/** Why the planned files must not count as a download (nothing, or only archives), or null. */
export function planProblem(files: Array<{ file: { name: string } }>, failArchiveOnly = true): Text | null {
  if (!files.length) return t("transmission.no-files");
  if (failArchiveOnly && files.every((f) => ARCHIVE.test(f.file.name))) {
    const names = files
      .slice(0, 3)
      .map((f) => f.file.name)
      .join(", ");
    return t("transmission.archives-only", { names: files.length > 3 ? `${names}, …` : names });
  }
  return null;
}

/**
 * The local side of a removal: the copy's temp files always (they are ours and of no use any
 * more); with delete-local-data, exactly the files this node wrote, each only while unchanged
 * since, then the folders it created that are empty then. Never a folder with what is in it:
 * a torrent's folder may have merged into a user's folder of the same name.
 */
export async function cleanLocal(place: Placement, r: TorrentRecord, deleteLocalData: boolean, detail: Record<string, unknown>): Promise<void> {
  const realRoot = await fsp.realpath(place.localRoot).catch(() => null);
  if (!realRoot || !(await fsp.lstat(r.localDir).catch(() => null))) return;
  // The torrent's folder, links resolved, must still be inside the local root.
  await place.assertInsideRoot(realRoot, r.localDir);
  const within = async (p: string) => {
    if (!isWithin(r.localDir, p)) return false;
    const dir = await fsp.realpath(path.dirname(p)).catch(() => null);
    return dir !== null && (dir === realRoot || isWithin(realRoot, dir));
  };
  const local = (name: string) => path.join(r.localDir, ...name.split("/"));
  for (const c of r.copying ?? []) {
    const t = tempPaths(local(c.dir || "."), c.fileId);
    for (const f of [t.part, t.state, t.stateTmp]) {
      const st = await fsp.lstat(f).catch(() => null);
      if (st?.isFile() && (await within(f))) await fsp.unlink(f).catch(() => {});
    }
  }
  if (!deleteLocalData) return;
  // A state from before the node kept what it wrote: its verified files, by size.
  const legacy = r.written === undefined;
  const written = r.written ?? r.files.map((f) => ({ name: f.name, length: f.length, mtimeMs: 0, ino: 0 }));
  const kept: string[] = [];
  for (const w of written) {
    const p = local(w.name);
    const st = await fsp.lstat(p).catch(() => null);
    if (!st) continue;
    if (!st.isFile() || st.size !== w.length || (!legacy && (st.mtimeMs !== w.mtimeMs || st.ino !== w.ino)) || !(await within(p))) {
      kept.push(w.name);
      continue;
    }
    await fsp.unlink(p);
  }
  const dirs = new Set(r.createdDirs ?? []);
  if (legacy) for (const w of written) for (let d = path.posix.dirname(w.name); d !== "."; d = path.posix.dirname(d)) dirs.add(d);
  // Deepest first; rmdir removes a folder only when it is empty.
  for (const d of [...dirs].sort((a, b) => b.split("/").length - a.split("/").length)) {
    const p = local(d);
    if (await within(p)) await fsp.rmdir(p).catch(() => {});
  }
  detail.localDeleted = kept.length === 0;
  if (kept.length) detail.localKept = kept;
}
