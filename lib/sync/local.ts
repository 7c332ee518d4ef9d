/**
 * The sync's view of the local folder: what is on disk (links never followed, the package's own
 * `.putio-*` files and folders never listed) and the state file of what the last runs wrote.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { nodeFs, writeFileAtomic } from "../local/fs";
import { isSafeRelPath, type LocalEntry, type StateEntry } from "./planner";

/** The sync's own names under the target; remote names never start with ".putio-" (sanitizeName). */
export const STATE_FILE = ".putio-sync.json";
export const TRASH_DIR = ".putio-trash";
export const STAGING_DIR = ".putio-sync-tmp";
const OWN = /^\.putio-/i;

export interface SyncState {
  /** The put.io folder the state belongs to: another folder's state is not used. */
  folderId: number;
  files: Map<number, StateEntry>;
  /** Set while a run works: still set at start = the last run was interrupted. */
  running: boolean;
  /** Local extras (folded paths) a run found and left for a second look (see PlanOptions.extrasBefore). */
  extras?: string[];
}

/** Every file, link and folder under `root` (relative, "/"-joined); a missing root is empty. */
export async function scanSyncTarget(root: string, signal?: AbortSignal): Promise<LocalEntry[]> {
  const out: LocalEntry[] = [];
  const visit = async (dir: string, rel: string) => {
    if (signal?.aborted) throw signal.reason;
    let entries;
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT" && rel === "") return;
      throw err;
    }
    for (const e of entries) {
      if (OWN.test(e.name)) continue;
      const full = path.join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      const st = await fsp.lstat(full).catch(() => null);
      if (!st) continue;
      const kind = st.isSymbolicLink() ? "link" : st.isFile() ? "file" : st.isDirectory() ? "dir" : "other";
      out.push({ path: r, kind, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev, ctimeMs: st.ctimeMs });
      if (kind === "dir") await visit(full, r);
    }
  };
  await visit(root, "");
  return out;
}

export async function readState(root: string, folderId: number): Promise<SyncState> {
  const empty: SyncState = { folderId, files: new Map(), running: false };
  let data: { folderId?: unknown; files?: Record<string, Partial<StateEntry>>; running?: unknown; extras?: unknown };
  try {
    data = JSON.parse(await fsp.readFile(path.join(root, STATE_FILE), "utf8"));
  } catch {
    return empty; // missing or damaged: every local file counts as the user's
  }
  if (!data || data.folderId !== folderId || typeof data.files !== "object" || !data.files) return { ...empty, running: data?.running === true };
  for (const [k, e] of Object.entries(data.files)) {
    const id = Number(k);
    if (!Number.isSafeInteger(id) || !e || !isSafeRelPath(e.path) || typeof e.size !== "number" || typeof e.mtimeMs !== "number") continue;
    const num = (k: "ino" | "dev" | "ctimeMs" | "goneSince") => (typeof e[k] === "number" ? { [k]: e[k] } : {});
    const bytesCrc = typeof e.bytesCrc === "string" && /^[0-9a-f]{8}$/i.test(e.bytesCrc) ? { bytesCrc: e.bytesCrc } : {};
    empty.files.set(id, {
      path: e.path,
      size: e.size,
      crc32: typeof e.crc32 === "string" ? e.crc32 : null,
      mtimeMs: e.mtimeMs,
      ...num("ino"),
      ...num("dev"),
      ...num("ctimeMs"),
      ...num("goneSince"),
      ...bytesCrc,
    });
  }
  const extras = Array.isArray(data.extras) ? data.extras.filter((x): x is string => typeof x === "string") : [];
  return { ...empty, running: data.running === true, extras };
}

/** Written through a temp name and a rename: a crash leaves the old or the new state. */
export async function writeState(root: string, state: SyncState): Promise<void> {
  const text = JSON.stringify({
    v: 1,
    folderId: state.folderId,
    running: state.running,
    files: Object.fromEntries(state.files),
    ...(state.extras?.length ? { extras: state.extras } : {}),
  });
  await writeFileAtomic(nodeFs, path.join(root, STATE_FILE), path.join(root, STATE_FILE + ".tmp"), text);
}
