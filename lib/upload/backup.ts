/**
 * Incremental backup of a local folder tree to a put.io folder (one way: nothing on put.io is
 * removed because it is missing locally).
 *
 * - Local walk: never follows a symbolic link. A link (to a file or a folder, inside the root or
 *   not), a socket, a FIFO or a device is not backed up and is listed in `ignored` with the reason.
 *   Names that are not valid UTF-8 cannot be named to put.io and are `failed`.
 * - Plan (planBackup, pure): per folder, local names are matched to put.io's by exact name, else by
 *   the same name in Unicode NFC when that is unambiguous. Same size and, where put.io has one, the
 *   same CRC32 → skipped; otherwise replaced. Two local siblings with one NFC form would be one name
 *   if put.io normalises: the first (code-unit order) is backed up, the others fail. Case-only
 *   differences are distinct names (put.io's case rule is not documented; the emulator is
 *   case-sensitive): matching is exact, so they never replace each other, and a put.io that refused
 *   the second name would fail its rename, not overwrite.
 * - Apply: every file is uploaded (tus, resumable) under a temporary name in its put.io folder,
 *   its CRC32 checked against put.io's, and the local file stat-ed before and after: a change in
 *   between deletes the copy and tries again (bounded). Only then the old version goes to the trash
 *   and the new one is renamed to the real name, so there is always one good copy and never a half
 *   file under the real name. A leftover temporary copy (an earlier run that stopped after the
 *   upload) is used when it matches, else removed.
 * - Local CRC32s are cached by (path, size, mtime) in a small state file, so a re-run reads only
 *   changed files.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { PutioClient } from "../client";
import { crc32, crcHex } from "../core/crc";
import { PutioAbortError, PutioInputError, PutioTransferIntegrityError } from "../core/errors";
import { t, type Text } from "../core/texts";
import { checkName } from "../core/wire";
import { collect } from "../core/paginate";
import { compileFilter, folderSkipper, globToRegExp, type FileFilter } from "../domains/filters";
import { walk } from "../domains/walk";
import { OPEN, writeFileAtomic, nodeFs } from "../local/fs";
import { tempPaths } from "../local/names";
import { TusUploader } from "./engine";

/** Names of the backup's own temporary copies on put.io (a local name here is refused). */
export const BACKUP_TEMP_PREFIX = ".putio-backup-";

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

/** The temporary name a file is uploaded under before it is renamed: fixed per name, so a re-run resumes it. */
export function backupTempName(name: string): string {
  return `${BACKUP_TEMP_PREFIX}${createHash("sha1").update(name).digest("hex").slice(0, 16)}.tmp`;
}

export interface LocalFile {
  /** Relative to the backed-up folder, "/"-separated. */
  path: string;
  size: number;
  mtimeMs: number;
  /** Filled in where the plan needs it (a put.io file of the same size). */
  crc32?: string;
}

export interface RemoteItem {
  /** Relative to the put.io folder, "/"-separated, put.io's names. */
  path: string;
  id: number;
  isFolder: boolean;
  size: number;
  crc32: string | null;
}

export interface PathProblem {
  path: string;
  reason: Text;
}

export type PlanStep =
  /** A put.io folder that exists: local folder `path` is put.io's `id`. */
  | { op: "dir"; path: string; id: number }
  | { op: "mkdir"; path: string; parent: string; name: string }
  | { op: "upload"; path: string; parent: string; name: string; size: number; temps: RemoteItem[] }
  | { op: "replace"; path: string; parent: string; name: string; size: number; oldId: number; temps: RemoteItem[] }
  | { op: "skip"; path: string; size: number; fileId: number }
  | { op: "fail"; path: string; reason: Text };

const nfc = (s: string) => s.normalize("NFC");
const dirOf = (p: string) => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "");
const baseOf = (p: string) => p.slice(p.lastIndexOf("/") + 1);
const join = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);

/** Why put.io cannot take this name, or null. */
export function nameProblem(name: string, where = name): Text | null {
  if (name.toLowerCase().startsWith(BACKUP_TEMP_PREFIX)) return t("backup.reserved-name", { prefix: BACKUP_TEMP_PREFIX });
  try {
    checkName(name, t("op.upload", { name: where }));
  } catch (err) {
    return (err as PutioInputError).text;
  }
  return null;
}

/**
 * The steps that bring the put.io folder up to the local tree. Pure: depends only on its input.
 * `dirs` are the local folders (every parent of a file among them), `remote` the put.io tree.
 */
export function planBackup(local: { files: LocalFile[]; dirs: string[] }, remote: RemoteItem[]): PlanStep[] {
  const steps: PlanStep[] = [];
  // put.io's children per put.io folder path.
  const remoteKids = new Map<string, RemoteItem[]>();
  for (const r of remote) {
    const list = remoteKids.get(dirOf(r.path)) ?? [];
    list.push(r);
    remoteKids.set(dirOf(r.path), list);
  }
  // Local children per local folder path.
  const localKids = new Map<string, Array<{ name: string; file?: LocalFile }>>();
  const addKid = (dir: string, kid: { name: string; file?: LocalFile }) => {
    const list = localKids.get(dir) ?? [];
    list.push(kid);
    localKids.set(dir, list);
  };
  const dirSet = new Set(local.dirs.filter((d) => d !== ""));
  for (const f of local.files) for (let d = dirOf(f.path); d; d = dirOf(d)) dirSet.add(d);
  for (const d of dirSet) addKid(dirOf(d), { name: baseOf(d) });
  for (const f of local.files) addKid(dirOf(f.path), { name: baseOf(f.path), file: f });

  /** localDir exists on put.io at remoteDir (null: not yet, it is created by this plan). */
  const visit = (localDir: string, remoteDir: string | null) => {
    const kids = [...(localKids.get(localDir) ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.file ? 1 : -1));
    const there = remoteDir === null ? [] : (remoteKids.get(remoteDir) ?? []);
    // By exact name and by NFC form, so a folder of many files is planned in linear time.
    const byName = new Map<string, RemoteItem[]>();
    const byForm = new Map<string, RemoteItem[]>();
    const push = (m: Map<string, RemoteItem[]>, k: string, r: RemoteItem) => {
      const list = m.get(k);
      if (list) list.push(r);
      else m.set(k, [r]);
    };
    for (const r of there) {
      push(byName, baseOf(r.path), r);
      if (!baseOf(r.path).startsWith(BACKUP_TEMP_PREFIX)) push(byForm, nfc(baseOf(r.path)), r);
    }
    const seenForms = new Map<string, string>();
    for (const kid of kids) {
      const p = join(localDir, kid.name);
      const problem = nameProblem(kid.name, join(localDir, kid.name));
      if (problem) {
        steps.push({ op: "fail", path: p, reason: problem });
        continue;
      }
      const form = nfc(kid.name);
      const first = seenForms.get(form);
      if (first !== undefined) {
        steps.push({ op: "fail", path: p, reason: t("backup.name-clash", { other: join(localDir, first) }) });
        continue;
      }
      seenForms.set(form, kid.name);
      // nameProblem refused our prefix, so an exact match is never one of our temp copies.
      let same = byName.get(kid.name) ?? [];
      if (!same.length) {
        // put.io may hold the name in another Unicode form: taken when that is one name only.
        const variants = byForm.get(form) ?? [];
        if (new Set(variants.map((r) => baseOf(r.path))).size === 1) same = variants;
      }
      if (!kid.file) {
        const folders = same.filter((r) => r.isFolder);
        if (same.length && !folders.length) {
          steps.push({ op: "fail", path: p, reason: t("backup.file-in-the-way") });
          continue;
        }
        if (folders.length > 1) {
          steps.push({ op: "fail", path: p, reason: t("backup.ambiguous", { count: folders.length }) });
          continue;
        }
        if (folders[0]) {
          steps.push({ op: "dir", path: p, id: folders[0].id });
          visit(p, folders[0].path);
        } else {
          steps.push({ op: "mkdir", path: p, parent: localDir, name: kid.name });
          visit(p, null);
        }
        continue;
      }
      const f = kid.file;
      if (same.some((r) => r.isFolder)) {
        steps.push({ op: "fail", path: p, reason: t("backup.folder-in-the-way") });
        continue;
      }
      const temp = backupTempName(kid.name);
      const temps = (byName.get(temp) ?? []).filter((r) => !r.isFolder);
      const identical = same.find((r) => r.size === f.size && (r.crc32 === null || (f.crc32 !== undefined && r.crc32.toLowerCase() === f.crc32)));
      if (identical) steps.push({ op: "skip", path: p, size: f.size, fileId: identical.id });
      else if (same.length > 1) steps.push({ op: "fail", path: p, reason: t("backup.ambiguous", { count: same.length }) });
      else if (same[0]) steps.push({ op: "replace", path: p, parent: localDir, name: kid.name, size: f.size, oldId: same[0].id, temps });
      else steps.push({ op: "upload", path: p, parent: localDir, name: kid.name, size: f.size, temps });
    }
  };
  visit("", "");
  return steps;
}

// ---------- the local side ----------

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

const codeOf = (err: unknown) => String((err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? err);

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

interface CrcCache {
  version: 1;
  /** path → [size, mtimeMs, crc32] */
  files: Record<string, [number, number, string]>;
}

async function readCache(file: string | undefined): Promise<CrcCache> {
  if (!file) return { version: 1, files: {} };
  try {
    const c = JSON.parse(await fs.promises.readFile(file, "utf8")) as CrcCache;
    if (c && c.version === 1 && c.files && typeof c.files === "object") return c;
  } catch {
    // none yet, or unreadable: CRCs are computed again
  }
  return { version: 1, files: {} };
}

// ---------- the run ----------

export interface BackupOptions extends LocalFilter {
  /** The local folder (its real path is walked). */
  localFolder: string;
  /** The put.io folder id; null: it does not exist yet (dry run only). */
  remoteFolderId: number | null;
  dryRun?: boolean;
  /** Local CRC32 cache file (omitted: none). */
  cacheFile?: string;
  /** The tus resume state folder (see TusUploader). */
  stateDir?: string;
  chunkSize?: number;
  /** Files uploaded at the same time (default 3; the account's request queue caps requests in flight). */
  filesAtOnce?: number;
  /** Tries per file when it changes while it is uploaded (default 3). */
  attempts?: number;
  signal?: AbortSignal;
  /** After each file (done of total files to upload or replace). */
  onProgress?: (done: number, total: number, path: string) => void;
  /** Bytes of the file being sent (tests grow a file from here). */
  onFileProgress?: (path: string, sent: number, total: number) => void;
}

export interface BackupEntry {
  path: string;
  size: number;
  /** put.io's id of the stored file (the one there, for skipped; null in a dry run for new files). */
  fileId: number | null;
}

export interface BackupResult {
  uploaded: BackupEntry[];
  replaced: Array<BackupEntry & { oldFileId: number }>;
  skipped: BackupEntry[];
  createdFolders: string[];
  failed: Array<{ path: string; error: Text | Error }>;
  ignored: PathProblem[];
  dryRun: boolean;
}

/** Changed between two stats (ctime catches a write that restored size and mtime). */
const changed = (a: fs.Stats, b: fs.Stats) => a.size !== b.size || a.mtimeMs !== b.mtimeMs || a.ctimeMs !== b.ctimeMs || a.ino !== b.ino || !b.isFile();

export async function backupFolder(client: PutioClient, opts: BackupOptions): Promise<BackupResult> {
  const signal = opts.signal;
  const attempted = t("op.backup", { path: opts.localFolder });
  const aborted = () => signal?.aborted === true;
  let root: string;
  try {
    root = await fs.promises.realpath(opts.localFolder);
    if (!(await fs.promises.stat(root)).isDirectory()) throw Object.assign(new Error("ENOTDIR"), { code: "ENOTDIR" });
  } catch (err) {
    throw new PutioInputError(attempted, t("backup.cannot-read-folder", { path: opts.localFolder, detail: codeOf(err) }));
  }
  const scan = await scanLocal(root, { ...opts, signal });
  const remote: RemoteItem[] = [];
  if (opts.remoteFolderId !== null)
    for await (const w of walk(client.files, opts.remoteFolderId, { includeFolders: true, signal }))
      remote.push({ path: w.path, id: w.file.id, isFolder: w.file.file_type === "FOLDER", size: w.file.size ?? 0, crc32: w.file.crc32 ?? null });

  // Local CRC32s where a put.io file (or a leftover copy) of the same size may make a file skippable.
  const cache = await readCache(opts.cacheFile);
  const freshCache: CrcCache = { version: 1, files: {} };
  const sizesAt = new Map<string, Set<number>>();
  for (const r of remote)
    if (!r.isFolder) {
      const key = nfc(r.path);
      const set = sizesAt.get(key) ?? new Set<number>();
      set.add(r.size);
      sizesAt.set(key, set);
    }
  const crcOf = async (f: LocalFile): Promise<string> => {
    const hit = cache.files[f.path];
    if (hit && hit[0] === f.size && hit[1] === f.mtimeMs) return hit[2];
    const got = await localCrc(path.join(root, f.path), signal);
    if (got.size === f.size && got.mtimeMs === f.mtimeMs) freshCache.files[f.path] = [f.size, f.mtimeMs, got.crc];
    return got.crc;
  };
  for (const f of scan.files) {
    const dir = dirOf(f.path);
    const candidates = [nfc(f.path), nfc(join(dir, backupTempName(baseOf(f.path))))];
    if (!candidates.some((k) => sizesAt.get(k)?.has(f.size))) continue;
    try {
      f.crc32 = await crcOf(f);
    } catch (err) {
      if (aborted()) throw new PutioAbortError(attempted, signal!.reason);
      // Left without a CRC it is uploaded, where the read error is reported.
      void err;
    }
  }

  const steps = planBackup(scan, remote);
  const result: BackupResult = {
    uploaded: [],
    replaced: [],
    skipped: [],
    createdFolders: [],
    failed: [...scan.failed.map((p) => ({ path: p.path, error: p.reason }))],
    ignored: scan.ignored,
    dryRun: opts.dryRun === true,
  };
  const saveCache = async () => {
    if (!opts.cacheFile || result.dryRun) return;
    const present = new Set(scan.files.map((f) => f.path));
    for (const [p, v] of Object.entries(cache.files)) if (!(p in freshCache.files) && present.has(p)) freshCache.files[p] = v;
    try {
      await fs.promises.mkdir(path.dirname(opts.cacheFile), { recursive: true });
      await writeFileAtomic(nodeFs, opts.cacheFile, `${opts.cacheFile}.tmp`, JSON.stringify(freshCache));
    } catch {
      // A cache that cannot be written costs a re-read next time, nothing more.
    }
  };

  if (result.dryRun) {
    for (const s of steps) {
      if (s.op === "mkdir") result.createdFolders.push(s.path);
      else if (s.op === "upload") result.uploaded.push({ path: s.path, size: s.size, fileId: null });
      else if (s.op === "replace") result.replaced.push({ path: s.path, size: s.size, fileId: null, oldFileId: s.oldId });
      else if (s.op === "skip") result.skipped.push({ path: s.path, size: s.size, fileId: s.fileId });
      else if (s.op === "fail") result.failed.push({ path: s.path, error: s.reason });
    }
    return result;
  }

  const folderIds = new Map<string, number>([["", opts.remoteFolderId!]]);
  const brokenDirs = new Set<string>();
  const uploader = new TusUploader(client);
  const queue: Array<{ s: StoreStep; parentId: number }> = [];
  try {
    // Folders first, in plan order (parents before children); the files then go a few at a time.
    for (const s of steps) {
      if (aborted()) throw new PutioAbortError(attempted, signal!.reason);
      if (s.op === "dir") folderIds.set(s.path, s.id);
      else if (s.op === "skip") result.skipped.push({ path: s.path, size: s.size, fileId: s.fileId });
      else if (s.op === "fail") result.failed.push({ path: s.path, error: s.reason });
      else if (s.op === "mkdir") {
        const parentId = folderIds.get(s.parent);
        if (parentId === undefined) {
          brokenDirs.add(s.path);
          continue;
        }
        try {
          folderIds.set(s.path, (await client.files.createFolder(parentId, s.name, signal)).id);
          result.createdFolders.push(s.path);
        } catch (err) {
          if (aborted()) throw err;
          brokenDirs.add(s.path);
          result.failed.push({ path: s.path, error: err as Error });
        }
      } else {
        const parentId = folderIds.get(s.parent);
        // Under a folder that could not be created: that folder is reported, once.
        if (parentId === undefined) {
          if (!brokenDirs.has(s.parent)) result.failed.push({ path: s.path, error: t("backup.no-folder") });
        } else queue.push({ s, parentId });
      }
    }
    let next = 0;
    let done = 0;
    if (queue.length) opts.onProgress?.(0, queue.length, "");
    let stop: unknown = null;
    const worker = async () => {
      while (stop === null && next < queue.length) {
        const { s, parentId } = queue[next++]!;
        try {
          const stored = await storeOne(client, uploader, root, s, parentId, opts, crcOf);
          if (s.op === "replace") result.replaced.push({ path: s.path, size: stored.size, fileId: stored.fileId, oldFileId: s.oldId });
          else result.uploaded.push({ path: s.path, size: stored.size, fileId: stored.fileId });
          freshCache.files[s.path] = [stored.size, stored.mtimeMs, stored.crc];
        } catch (err) {
          if (aborted() || err instanceof PutioAbortError) {
            stop ??= err;
            return;
          }
          result.failed.push({ path: s.path, error: err as Error });
        }
        opts.onProgress?.(++done, queue.length, s.path);
      }
    };
    await Promise.all(Array.from({ length: Math.min(Math.max(1, opts.filesAtOnce ?? 3), queue.length) }, worker));
    if (stop !== null) throw stop;
  } finally {
    await saveCache();
  }
  // Lists in plan order, whatever order the files finished in (failures of the local walk first).
  const order = new Map(steps.map((s, i) => [s.path, i]));
  const byPlan = (a: { path: string }, b: { path: string }) => (order.get(a.path) ?? -1) - (order.get(b.path) ?? -1);
  result.uploaded.sort(byPlan);
  result.replaced.sort(byPlan);
  result.failed.sort(byPlan);
  return result;
}

type StoreStep = Extract<PlanStep, { op: "upload" | "replace" }>;

/** Upload one file under its temporary name, check it, then put it in place of the old one. */
async function storeOne(
  client: PutioClient,
  uploader: TusUploader,
  root: string,
  s: StoreStep,
  parentId: number,
  opts: BackupOptions,
  crcOf: (f: LocalFile) => Promise<string>,
): Promise<{ fileId: number; size: number; mtimeMs: number; crc: string }> {
  const signal = opts.signal;
  const local = path.join(root, s.path);
  const attempted = t("op.upload", { name: s.path });
  const temp = backupTempName(s.name);
  let leftovers = s.temps;
  const attempts = Math.max(1, opts.attempts ?? 3);
  for (let attempt = 1; ; attempt++) {
    const before = await fs.promises.lstat(local).catch((err) => {
      throw inputError(attempted, t("backup.cannot-read", { detail: codeOf(err) }));
    });
    if (!before.isFile()) throw inputError(attempted, t("backup.not-a-file-now"));
    // A folder on the way swapped for a link since the walk would lead out of the root.
    const real = await fs.promises.realpath(local).catch(() => "");
    if (real !== local) throw inputError(attempted, t("backup.symlink"));

    let fileId: number | null = null;
    let crc = "";
    // An earlier run may have stored the copy and stopped before the rename.
    for (const l of leftovers) {
      if (fileId === null && l.size === before.size && l.crc32 !== null) {
        crc = await crcOf({ path: s.path, size: before.size, mtimeMs: before.mtimeMs });
        if (crc === l.crc32.toLowerCase()) {
          fileId = l.id;
          continue;
        }
      }
      // Our own copy that does not match: not a user's file, no use in the trash.
      await client.files.delete([l.id], { skipTrash: true, signal });
    }
    leftovers = [];
    if (fileId === null) {
      try {
        const res = await uploader.upload({
          path: local,
          name: temp,
          parentId,
          noTorrent: true,
          chunkSize: opts.chunkSize,
          stateDir: opts.stateDir,
          signal,
          onProgress: (sent, total) => opts.onFileProgress?.(s.path, sent, total),
        });
        if (res.kind !== "file") throw new PutioInputError(attempted, t("input.upload-answer-unknown", { attempted: "" }));
        fileId = res.fileId;
        crc = res.crc32;
      } catch (err) {
        if (signal?.aborted || err instanceof PutioAbortError) throw err;
        // A file that shrank or changed under the read: the copy (if one was stored) is found and removed next time.
        const after = await fs.promises.lstat(local).catch(() => null);
        if (attempt < attempts && (err instanceof PutioTransferIntegrityError || !after || changed(before, after))) {
          leftovers = (await collect(client.files.list(parentId, { signal }))).filter((f) => f.name === temp && f.file_type !== "FOLDER").map(asItem);
          continue;
        }
        throw err;
      }
    }
    const after = await fs.promises.lstat(local).catch(() => null);
    if (!after || changed(before, after)) {
      // Sent while it was written to: that copy may be half old, half new.
      await client.files.delete([fileId], { skipTrash: true, signal });
      if (attempt < attempts) continue;
      throw inputError(attempted, t("backup.kept-changing", { attempts }));
    }
    if (s.op === "replace") await client.files.delete([s.oldId], { signal });
    await client.files.rename(fileId, s.name, signal);
    return { fileId, size: before.size, mtimeMs: before.mtimeMs, crc };
  }
}

/** An input error whose problem is one of the backup's reasons. */
const inputError = (attempted: Text, reason: Text) => new PutioInputError(attempted, t("input.other", { problem: reason }));

const asItem = (f: { id: number; name: string; size?: number | null; crc32?: string | null; file_type?: string }): RemoteItem => ({
  path: f.name,
  id: f.id,
  isFolder: f.file_type === "FOLDER",
  size: f.size ?? 0,
  crc32: f.crc32 ?? null,
});
