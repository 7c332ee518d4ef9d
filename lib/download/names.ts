/**
 * Local names for remote files. put.io names are user- and torrent-controlled: every name is
 * sanitised so no write can leave the target folder, and every joined path is checked again.
 */
import * as path from "node:path";
import { PutioInputError } from "../errors";

/** Device names Windows (and SMB shares served to Windows) refuse, with or without an extension. */
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
/** Room left for the temp suffixes (".part", ".part.json") within the 255-byte name limit. */
const MAX_NAME_BYTES = 240;

/** A single path component that is safe on Linux, macOS and Windows/SMB shares. */
export function sanitizeName(name: string): string {
  let s = String(name ?? "")
    // Control characters (NUL included), separators and the characters Windows refuses.
    .replace(/[\u0000-\u001f\u007f/\\<>:"|?*]/g, "_")
    // Windows strips trailing dots and spaces, so "a." and "a" would collide (or "..." vanish).
    .replace(/[. ]+$/, "");
  if (s === "" || s === "." || s === "..") s = "_";
  if (RESERVED.test(s)) s = "_" + s;
  return truncateBytes(s, MAX_NAME_BYTES);
}

/** Cut a name to at most `max` UTF-8 bytes, keeping a short extension. */
function truncateBytes(name: string, max: number): string {
  if (Buffer.byteLength(name) <= max) return name;
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : "";
  let base = name.slice(0, name.length - ext.length);
  while (Buffer.byteLength(base + ext) > max) base = base.slice(0, -1);
  return base + ext;
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
    throw new PutioInputError("choose a local name", `"${full}" is not inside the target folder "${base}"`);
  }
}

/** "name (n).ext": the keep-both name for the n-th copy. */
export function numberedName(name: string, n: number): string {
  const dot = name.lastIndexOf(".");
  const hasExt = dot > 0 && dot < name.length - 1;
  const base = hasExt ? name.slice(0, dot) : name;
  const ext = hasExt ? name.slice(dot) : "";
  const suffix = ` (${n})${ext}`;
  let cut = base;
  while (cut && Buffer.byteLength(cut + suffix) > MAX_NAME_BYTES) cut = cut.slice(0, -1);
  return cut + suffix;
}
