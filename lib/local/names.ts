/**
 * Local names for remote files. put.io names are user- and torrent-controlled: every name is
 * sanitised so no write can leave the target folder, every joined path is checked again, and a
 * job's remote → local mapping is decided before any write and is one-to-one, also where the
 * target compares names without case or Unicode form (SMB and exFAT shares, macOS).
 *
 * Collisions (two remote names that clean up, or fold, to one local name): the name that needed
 * no cleaning keeps it, then the lowest put.io id; every other one gets " [putio-<id>]" before its
 * extension. The id makes the suffix the same on every run, whatever else the folder holds.
 */
import * as path from "node:path";
import { PutioInputError } from "../core/errors";
import { t } from "../core/texts";

/** Device names Windows (and SMB shares served to Windows) refuse, with or without an extension. */
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
/** Room left within the 255-byte name limit (a collision suffix is cut into this, never added past it). */
const MAX_NAME_BYTES = 240;
/** The engine's temp and state files (see tempPaths): a remote name never lands in this namespace. */
const OWN_PREFIX = /^\.putio-/i;
/** A lone UTF-16 surrogate: the file system would store U+FFFD, so two such names would collide. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A single path component that is safe on Linux, macOS and Windows/SMB shares. */
export function sanitizeName(name: string): string {
  let s = String(name ?? "")
    .replace(LONE_SURROGATE, "_")
    // Control characters (NUL included), separators and the characters Windows refuses.
    .replace(/[\u0000-\u001f\u007f/\\<>:"|?*]/g, "_")
    // Windows strips trailing dots and spaces, so "a." and "a" would collide (or "..." vanish).
    .replace(/[. ]+$/, "");
  if (s === "" || s === "." || s === "..") s = "_";
  if (RESERVED.test(s) || OWN_PREFIX.test(s)) s = "_" + s;
  return truncateBytes(s, MAX_NAME_BYTES);
}

/**
 * The key under which a target may treat two names as one: Unicode compatibility form and case
 * folded. Folding more than a file system does only costs a suffix; folding less could lose a file.
 */
export function foldName(name: string): string {
  return name.normalize("NFKC").toUpperCase().toLowerCase().normalize("NFKC");
}

/** Split at the extension (a short last ".xyz"), so suffixes go before it. */
function splitExt(name: string): { base: string; ext: string } {
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 && dot < name.length - 1 && name.length - dot <= 16 ? name.slice(dot) : "";
  return { base: name.slice(0, name.length - ext.length), ext };
}

/** `base + suffix + ext` within the byte limit, cutting whole code points off the base. */
function fit(base: string, suffix: string, ext: string): string {
  const chars = Array.from(base);
  while (chars.length && Buffer.byteLength(chars.join("") + suffix + ext) > MAX_NAME_BYTES) chars.pop();
  return chars.join("") + suffix + ext;
}

/** Cut a name to at most `max` UTF-8 bytes, keeping a short extension. */
function truncateBytes(name: string, max: number): string {
  if (Buffer.byteLength(name) <= max) return name;
  const { base, ext } = splitExt(name);
  return fit(base, "", ext).replace(/[. ]+$/, "") || "_";
}

/** Join sanitised components under `root` and assert the result stays inside it. */
export function safeJoin(root: string, ...names: string[]): string {
  const base = path.resolve(root);
  const full = path.resolve(base, ...names.map(sanitizeName));
  assertInside(base, full);
  return full;
}

export function assertInside(root: string, full: string): void {
  const base = path.resolve(root);
  const rel = path.relative(base, path.resolve(full));
  if (rel === "" || rel === ".." || rel.startsWith(".." + path.sep) || path.isAbsolute(rel)) {
    throw new PutioInputError(t("op.choose-local-name"), t("input.outside-target", { path: full, base }));
  }
}

/** "name (n).ext": the keep-both name for the n-th copy. */
export function numberedName(name: string, n: number): string {
  const { base, ext } = splitExt(name);
  return fit(base, ` (${n})`, ext);
}

/** "name [putio-<tag>].ext": the name of a file that lost a collision (folders: no extension split). */
export function collisionName(name: string, tag: string, isFolder: boolean): string {
  const { base, ext } = isFolder ? { base: name, ext: "" } : splitExt(name);
  return fit(base, ` [putio-${tag}]`, ext);
}

/** The engine's own files for one remote file in a folder: hidden, named by the put.io id. */
export function tempPaths(dir: string, fileId: number): { part: string; state: string; stateTmp: string } {
  const part = path.join(dir, `.putio-${fileId}.part`);
  return { part, state: part + ".json", stateTmp: part + ".json.tmp" };
}

export interface RemoteEntry {
  id: number;
  name: string;
}

export interface PlannedEntry {
  /** Folders from the job's source down to the file's parent. */
  folders: RemoteEntry[];
  file: RemoteEntry;
}

/**
 * Local folder names and file name for every remote file of a job, one-to-one under foldName in
 * every folder (a folder and a file of one folder are siblings too). Deterministic: depends only
 * on the names and ids given, not on their order.
 */
export function planLocalNames(entries: PlannedEntry[]): Array<{ dirs: string[]; name: string }> {
  interface Dir {
    folders: Map<number, { name: string; dir: Dir }>;
    files: Map<number, string>;
    local: Map<number, string> | null;
  }
  const newDir = (): Dir => ({ folders: new Map(), files: new Map(), local: null });
  const root = newDir();
  const leaves: Array<{ chain: Dir[]; folderIds: number[]; fileId: number }> = [];
  for (const e of entries) {
    let d = root;
    const chain: Dir[] = [root];
    for (const f of e.folders) {
      let sub = d.folders.get(f.id);
      if (!sub) d.folders.set(f.id, (sub = { name: f.name, dir: newDir() }));
      d = sub.dir;
      chain.push(d);
    }
    d.files.set(e.file.id, e.file.name);
    leaves.push({ chain, folderIds: e.folders.map((f) => f.id), fileId: e.file.id });
  }
  const assign = (d: Dir): Map<number, string> => {
    if (d.local) return d.local;
    const items = [
      ...[...d.folders].map(([id, f]) => ({ id, name: f.name, isFolder: true })),
      ...[...d.files].map(([id, name]) => ({ id, name, isFolder: false })),
    ].map((it) => ({ ...it, clean: sanitizeName(it.name) }));
    items.sort((a, b) => Number(b.clean === b.name) - Number(a.clean === a.name) || a.id - b.id || Number(b.isFolder) - Number(a.isFolder));
    const taken = new Set<string>();
    const local = new Map<number, string>();
    for (const it of items) {
      let name = it.clean;
      for (let k = 1; taken.has(foldName(name)); k++) name = collisionName(it.clean, k === 1 ? String(it.id) : `${it.id}-${k}`, it.isFolder);
      taken.add(foldName(name));
      local.set(it.id, name);
    }
    return (d.local = local);
  };
  return leaves.map(({ chain, folderIds, fileId }) => ({
    // chain holds the root and one Dir per folder: chain[i] is the parent of folderIds[i].
    dirs: folderIds.map((id, i) => assign(chain[i]!).get(id)!),
    name: assign(chain[chain.length - 1]!).get(fileId)!,
  }));
}
