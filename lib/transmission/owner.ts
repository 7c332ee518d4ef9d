/**
 * The owner and mode of what the local copy puts on the NAS: the *arr app often runs as another
 * user than Node-RED (containers), and must move and delete what it imports. Applied only to the
 * files this node wrote and the folders it created (never to a folder or file that was there),
 * each opened without following a link (a swapped-in link never hands another file over), and
 * before the torrent is reported finished: an app never sees a file it cannot take.
 */
import { constants } from "node:fs";
import * as fsp from "node:fs/promises";
import { t, type Text } from "../core/texts";

export interface OwnerSettings {
  /** null: left as the process makes it. */
  uid: number | null;
  gid: number | null;
  /** Permission bits (0o644), null: as the process makes them (its umask). */
  fileMode: number | null;
  dirMode: number | null;
}

/** Whether any of the settings asks for something. */
export function ownerWanted(o: OwnerSettings | null | undefined): o is OwnerSettings {
  return !!o && (o.uid !== null || o.gid !== null || o.fileMode !== null || o.dirMode !== null);
}

/** A uid or gid as typed: "" is none; else a whole number 0…2^32-2 (-1 means "unchanged" to chown, so it is refused). */
export function parseId(v: unknown): number | null | undefined {
  const s = String(v ?? "").trim();
  if (!s) return null;
  if (!/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xfffffffe ? n : undefined;
}

/** A mode as typed, octal ("644", "0775", "2775"): "" is none; anything else is undefined (refused). */
export function parseMode(v: unknown): number | null | undefined {
  const s = String(v ?? "").trim();
  if (!s) return null;
  return /^0?[0-7]{3,4}$/.test(s) ? parseInt(s, 8) : undefined;
}

/** How the settings read in a message: "uid 1000, gid 1000, mode 664". */
export function describeOwner(o: OwnerSettings, dir: boolean): string {
  const parts: string[] = [];
  if (o.uid !== null) parts.push(`uid ${o.uid}`);
  if (o.gid !== null) parts.push(`gid ${o.gid}`);
  const mode = dir ? o.dirMode : o.fileMode;
  if (mode !== null) parts.push(`mode ${mode.toString(8).padStart(3, "0")}`);
  return parts.join(", ");
}

/**
 * Owner and mode set on one file or folder this node made. `ino`: the inode it had when written
 * (something else there now is left alone). Gone: nothing to do. A failure is the text of why.
 */
export async function applyOwner(p: string, kind: "file" | "dir", o: OwnerSettings, ino?: number): Promise<Text | null> {
  const mode = kind === "dir" ? o.dirMode : o.fileMode;
  const chown = o.uid !== null || o.gid !== null;
  if (!chown && mode === null) return null;
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(p, constants.O_RDONLY | constants.O_NOFOLLOW | (kind === "dir" ? constants.O_DIRECTORY : 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Removed or replaced (a link, another kind) since it was written: not ours to change.
    if (code === "ENOENT" || code === "ELOOP" || code === "ENOTDIR") return null;
    return failed(p, kind, o, err);
  }
  try {
    const st = await fh.stat();
    if ((kind === "file" ? !st.isFile() : !st.isDirectory()) || (ino !== undefined && ino !== 0 && st.ino !== ino)) return null;
    // -1 leaves that id as it is (chown(2)).
    if (chown) await fh.chown(o.uid ?? -1, o.gid ?? -1);
    if (mode !== null) await fh.chmod(mode);
    return null;
  } catch (err) {
    return failed(p, kind, o, err);
  } finally {
    await fh.close().catch(() => {});
  }
}

function failed(p: string, kind: "file" | "dir", o: OwnerSettings, err: unknown): Text {
  const owner = describeOwner(o, kind === "dir");
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "EPERM") return t("transmission.owner-not-permitted", { path: p, owner });
  return t("transmission.owner-failed", { path: p, owner, error: code ?? (err as Error).message });
}
