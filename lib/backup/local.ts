/**
 * The backup's local side: the walk of the local folder (never follows a symbolic link: a link, a
 * socket, a FIFO or a device is not backed up and is listed in `ignored` with the reason; names
 * that are not valid UTF-8 cannot be named to put.io and are `failed`), local CRC32s, and their
 * cache by (path, size, mtime) in a small state file, so a re-run reads only changed files.
 */
import fs from "node:fs";
import path from "node:path";
import { crc32, crcHex } from "../core/crc";
import { PutioAbortError, PutioInputError } from "../core/errors";
import { t } from "../core/texts";
import { compileFilter, folderSkipper, globToRegExp, type FileFilter } from "../domains/filters";
import { OPEN, writeFileAtomic, nodeFs } from "../local/fs";
import { tempPaths } from "../local/names";
import { join, type LocalFile, type PathProblem } from "./planner";

/** The download engine's own files (a partial download and its state, `.putio-<id>.part…`): never worth a backup. */
const DOWNLOAD_OWN = (() => {
  const own = tempPaths("", 0);
  const names = [own.part, own.state, own.stateTmp].map((n) =>
    path
      .basename(n)
      .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
      .replace("0", "\\d+"),
  );
  return new RegExp(`^(${names.join("|")})$`);
})();

export interface LocalScan {
  files: LocalFile[];
  dirs: string[];
  /** Not backed up on purpose (links, special files, filtered out folders are not listed). */
  ignored: PathProblem[];
  /** Could not be read or named. */
  failed: PathProblem[];
}

export interface LocalFilter {
  /** The download filters (name glob or regex, extensions, size, age by modification time). */
  filter?: FileFilter | null;
  /** Comma-separated globs (or a list) of file and folder names left out, any case. */
  exclude?: string | string[];
  /** Folder names not entered, any case (as the download's skip folders). */
  skipFolders?: string | string[];
}

/** Walk a local folder without following links. */
export async function scanLocal(root: string, opts: LocalFilter & { now?: number; signal?: AbortSignal } = {}): Promise<LocalScan> {
  const out: LocalScan = { files: [], dirs: [], ignored: [], failed: [] };
  // put.io's file types are put.io's verdict on its own files: a local file has none, and a type
  // filter would quietly leave every file out.
  const types = opts.filter?.fileTypes;
  if (types && (Array.isArray(types) ? types.length : String(types).trim()))
    throw new PutioInputError(t("op.backup", { path: root }), t("backup.no-file-types"));
  const keep = compileFilter(opts.filter, opts.now);
  const skipDir = folderSkipper(opts.skipFolders);
  const excluded = (Array.isArray(opts.exclude) ? opts.exclude : String(opts.exclude ?? "").split(","))
    .map((g) => g.trim())
    .filter(Boolean)
    .map(globToRegExp);
  const isExcluded = (name: string) => excluded.some((re) => re.test(name));
  const visit = async (rel: string, depth: number): Promise<void> => {
    if (opts.signal?.aborted) throw new PutioAbortError(t("op.backup", { path: root }), opts.signal.reason);
    let entries: fs.Dirent<Buffer>[];
    try {
      entries = await fs.promises.readdir(path.join(root, rel), { withFileTypes: true, encoding: "buffer" });
    } catch (err) {
      out.failed.push({ path: rel || ".", reason: t("backup.cannot-read", { detail: codeOf(err) }) });
      return;
    }
    for (const e of entries.sort((a, b) => Buffer.compare(a.name, b.name))) {
      const name = e.name.toString("utf8");
      const p = join(rel, name);
      // A name that is not UTF-8 cannot be named to put.io (nor opened through its decoded form).
      if (!Buffer.from(name, "utf8").equals(e.name)) {
        out.failed.push({ path: p, reason: t("backup.name-not-utf8") });
        continue;
      }
      if (e.isSymbolicLink()) out.ignored.push({ path: p, reason: t("backup.symlink") });
      else if (e.isDirectory()) {
        if (skipDir(name) || isExcluded(name)) continue;
        if (depth >= 64) {
          out.failed.push({ path: p, reason: t("backup.too-deep") });
          continue;
        }
        out.dirs.push(p);
        await visit(p, depth + 1);
      } else if (e.isFile()) {
        if (isExcluded(name)) continue;
        if (DOWNLOAD_OWN.test(name)) {
          out.ignored.push({ path: p, reason: t("backup.download-part") });
          continue;
        }
        let st: fs.Stats;
        try {
          st = await fs.promises.lstat(path.join(root, p));
        } catch (err) {
          out.failed.push({ path: p, reason: t("backup.cannot-read", { detail: codeOf(err) }) });
          continue;
        }
        if (!st.isFile()) continue; // replaced since the listing: the next run sees what it is
        const ext = /\.([^.]+)$/.exec(name)?.[1] ?? null;
        if (!keep({ name, size: st.size, extension: ext, created_at: new Date(st.mtimeMs).toISOString().slice(0, 19) })) continue;
        out.files.push({ path: p, size: st.size, mtimeMs: st.mtimeMs });
      } else out.ignored.push({ path: p, reason: t("backup.special-file") });
    }
  };
  await visit("", 0);
  return out;
}

export const codeOf = (err: unknown) => String((err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? err);

/** CRC32 of a local file, streamed, never through a link. */
export async function localCrc(file: string, signal?: AbortSignal): Promise<{ crc: string; size: number; mtimeMs: number }> {
  const fh = await fs.promises.open(file, OPEN.readOnly);
  try {
    const st = await fh.stat();
    let crc = 0;
    for await (const chunk of fh.createReadStream({ autoClose: false, highWaterMark: 1024 * 1024, signal })) crc = crc32(chunk as Buffer, crc);
    return { crc: crcHex(crc), size: st.size, mtimeMs: st.mtimeMs };
  } finally {
    await fh.close();
  }
}

export interface CrcCache {
  version: 1;
  /** path → [size, mtimeMs, crc32] */
  files: Record<string, [number, number, string]>;
}

export async function readCache(file: string | undefined): Promise<CrcCache> {
  if (!file) return { version: 1, files: {} };
  try {
    const c = JSON.parse(await fs.promises.readFile(file, "utf8")) as CrcCache;
    if (c && c.version === 1 && c.files && typeof c.files === "object") return c;
  } catch {
    // none yet, or unreadable: CRCs are computed again
  }
  return { version: 1, files: {} };
}

/** Writes the cache (atomically); one that cannot be written costs a re-read next time, nothing more. */
export async function writeCache(file: string, cache: CrcCache): Promise<void> {
  try {
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(nodeFs, file, `${file}.tmp`, JSON.stringify(cache));
  } catch {
    // see above
  }
}
