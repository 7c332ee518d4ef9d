/**
 * The sync's view of the local folder: what is on disk (links never followed, the package's own
 * `.putio-*` files and folders never listed) and the state file of what the last runs wrote.
 */
import * as path from "node:path";
import { lstatOrNull, nodeFs, type LocalFs } from "../local/fs";
import { StateFile } from "../local/state-file";
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
  /** The state file could not be parsed: it was set aside (this says where) and the run starts without it. */
  setAside?: Error;
}

/**
 * Every file, link and folder under `root` (relative, "/"-joined); a missing root is empty. Only a
 * name gone since its folder was read is left out: any other error fails the scan, since a file
 * the scan missed would read as "deleted by the user" and the state would forget it.
 */
export async function scanSyncTarget(root: string, signal?: AbortSignal, fs: LocalFs = nodeFs): Promise<LocalEntry[]> {
  const out: LocalEntry[] = [];
  const visit = async (dir: string, rel: string) => {
    if (signal?.aborted) throw signal.reason;
    let names;
    try {
      names = await fs.readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT" && rel === "") return;
      throw err;
    }
    for (const name of names) {
      if (OWN.test(name)) continue;
      const full = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstatOrNull(fs, full);
      if (!st) continue;
      const kind = st.isSymbolicLink() ? "link" : st.isFile() ? "file" : st.isDirectory() ? "dir" : "other";
      out.push({ path: r, kind, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev, ctimeMs: st.ctimeMs });
      if (kind === "dir") await visit(full, r);
    }
  };
  await visit(root, "");
  return out;
}

/**
 * The state of the last run. Missing: empty. Not parsable: set aside (`.putio-sync.json.damaged`,
 * never deleted; left in place when `readOnly`, as a dry run changes nothing) and empty, so every
 * local file counts as the user's. Unreadable (a disk error):
 * the run fails and the file is left as it is, never written over with less than it held.
 */
export async function readState(root: string, folderId: number, fs: LocalFs = nodeFs, opts: { readOnly?: boolean } = {}): Promise<SyncState> {
  const empty: SyncState = { folderId, files: new Map(), running: false };
  const file = new StateFile(path.join(root, STATE_FILE), fs);
  let data: { folderId?: unknown; files?: Record<string, Partial<StateEntry>>; running?: unknown; extras?: unknown } | null;
  try {
    data = opts.readOnly ? await file.peek() : await file.read();
  } catch (err) {
    if ((err as { code?: unknown }).code === "local.state-file-damaged") return { ...empty, setAside: err as Error };
    throw err;
  }
  if (!data) return empty;
  if (data.folderId !== folderId || typeof data.files !== "object" || !data.files) return { ...empty, running: data?.running === true };
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

/**
 * Whether the state says a run was working when it was last written. Only reads: a damaged or
 * unreadable state is not interrupted work, and stays for the next run to set aside and report.
 */
export async function lastRunUnfinished(root: string, fs: LocalFs = nodeFs): Promise<boolean> {
  const data = await new StateFile(path.join(root, STATE_FILE), fs).peek().catch(() => null);
  return data?.running === true;
}

/** Written through a temp name and a rename: a crash leaves the old or the new state. */
export async function writeState(root: string, state: SyncState, fs: LocalFs = nodeFs): Promise<void> {
  const text = JSON.stringify({
    v: 1,
    folderId: state.folderId,
    running: state.running,
    files: Object.fromEntries(state.files),
    ...(state.extras?.length ? { extras: state.extras } : {}),
  });
  await new StateFile(path.join(root, STATE_FILE), fs).write(text);
}
