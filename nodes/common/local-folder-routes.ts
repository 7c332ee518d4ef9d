/**
 * The editor's local folder completion: `GET putio-local/folders?path=/mnt/nas/Mo` answers the
 * sub-folders (names only, never files) of the deepest existing folder of the typed path that
 * starts with the typed last name, under the root Node-RED's settings give (`putioLocalRoot`,
 * default `/`). Guarded like the put.io folder picker: the folder names of the host are for those
 * who may change the flows. A link is listed only when it leads to a folder inside the root.
 */
import fs from "node:fs/promises";
import path from "node:path";
import type { Request, Response } from "express";
import { textOf } from "./i18n";
import type { NodeAPI } from "./node-api";
import { MAX_PATH_LENGTH } from "./folder-routes";

/** Folders answered at most: the rest is reached by typing more of the name. */
export const MAX_LOCAL_FOLDERS = 200;
const registeredOn = new WeakSet<object>();

function fail(res: Response, status: number, message: string): void {
  res.status(status).json({ error: message });
}

/** Whether `p` is `root` or inside it (both real paths). */
function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/** The root the settings give, as a real path, or null when it is not an existing folder. */
async function rootOf(RED: NodeAPI): Promise<string | null> {
  const setting = (RED.settings as unknown as { putioLocalRoot?: unknown }).putioLocalRoot;
  const root = typeof setting === "string" && setting.trim() ? setting.trim() : "/";
  try {
    const real = await fs.realpath(root);
    return (await fs.stat(real)).isDirectory() ? real : null;
  } catch {
    return null;
  }
}

export interface LocalFolders {
  /** The folder listed (as typed, up to its last "/"). */
  folder: string;
  /** Its sub-folders matching the typed start, sorted, as full paths. */
  folders: string[];
  truncated: boolean;
}

/** The folders to suggest for a typed absolute path, under `root` (a real path). */
export async function suggestLocalFolders(root: string, typed: string): Promise<LocalFolders | null> {
  const cut = typed.lastIndexOf("/");
  const folder = typed.slice(0, cut + 1) || "/";
  const start = typed.slice(cut + 1);
  let real: string;
  try {
    real = await fs.realpath(folder);
  } catch {
    return null;
  }
  if (!inside(root, real)) return null;
  const entries = await fs.readdir(real, { withFileTypes: true }).catch(() => []);
  const folders: string[] = [];
  let truncated = false;
  const caseless = start.toLowerCase();
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    // Hidden folders only when asked for (a typed "."): the download's state and temp files live there.
    if (e.name.startsWith(".") && !start.startsWith(".")) continue;
    if (!e.name.toLowerCase().startsWith(caseless)) continue;
    let isFolder = e.isDirectory();
    if (e.isSymbolicLink()) {
      const target = await fs.realpath(path.join(real, e.name)).catch(() => null);
      isFolder = !!target && inside(root, target) && (await fs.stat(target).catch(() => null))?.isDirectory() === true;
    }
    if (!isFolder) continue;
    if (folders.length === MAX_LOCAL_FOLDERS) {
      truncated = true;
      break;
    }
    folders.push(folder + e.name);
  }
  return { folder, folders, truncated };
}

export function registerLocalFolderRoutes(RED: NodeAPI): void {
  if (registeredOn.has(RED.httpAdmin)) return;
  registeredOn.add(RED.httpAdmin);
  const write = RED.auth.needsPermission("putio-account.write");
  RED.httpAdmin.get("/putio-local/folders", write, async (req: Request, res: Response) => {
    const typed = req.query.path ?? "";
    if (typeof typed !== "string" || typed.includes("\0")) return fail(res, 400, textOf(RED, "putio-account.picker.errors.bad-path"));
    if (typed.length > MAX_PATH_LENGTH) return fail(res, 400, textOf(RED, "putio-account.picker.errors.path-too-long", { max: MAX_PATH_LENGTH }));
    const root = await rootOf(RED);
    if (!root) return res.json({ state: "no-root" });
    // Nothing typed yet, or a relative path (a ${VAR} not expanded in the editor): start at the root.
    const found = await suggestLocalFolders(root, path.isAbsolute(typed) ? typed : root.replace(/\/?$/, "/"));
    if (!found) return res.json({ state: "outside", root });
    res.json({ state: "ok", root, ...found });
  });
}
