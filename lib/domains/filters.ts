/**
 * File filters shared by the download engine (and any node that selects put.io files): type,
 * extension, name glob or regex, size range, creation date range or "older than N days", and the
 * folders a walk does not enter (sample, extras). Generic on purpose: it only reads put.io's file fields.
 */
import { PutioInputError } from "../core/errors";
import { t, type Text } from "../core/texts";
import { parsePutioDate } from "../core/wire";

export interface FileFilter {
  /** put.io file_type values ("VIDEO", "AUDIO", …), any case. */
  fileTypes?: string[];
  /** Extensions without the dot ("mkv", "srt"), any case. */
  extensions?: string[];
  /** Shell-style glob on the name: `*` any run, `?` one character, case-insensitive. */
  nameGlob?: string;
  /** Regular expression on the name (a string is compiled case-insensitive). */
  nameRegex?: string | RegExp;
  minSize?: number;
  maxSize?: number;
  createdBefore?: Date | string;
  createdAfter?: Date | string;
  /** Only files created more than this many days ago. */
  olderThanDays?: number;
  /** Folder names (any case) a walk does not enter; a comma-separated string or a list. */
  skipFolders?: string[] | string;
}

/** Release folders that are rarely wanted in a mirror. */
export const DEFAULT_SKIP_FOLDERS = ["sample", "extras"];

/** Whether a folder name is one not to descend into (exact name, any case). */
export function folderSkipper(names: string[] | string | undefined): (folderName: string) => boolean {
  const skip = new Set((Array.isArray(names) ? names : String(names ?? "").split(",")).map((n) => String(n).trim().toLowerCase()).filter(Boolean));
  return (folderName) => skip.has(folderName.toLowerCase());
}

export interface FilterableFile {
  name: string;
  size: number;
  file_type?: string;
  extension?: string | null;
  created_at?: string | null;
}

const DAY_MS = 86_400_000;

export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "i");
}

function toDate(value: Date | string, what: Text): Date {
  const d = value instanceof Date ? value : (parsePutioDate(value) ?? new Date(value));
  if (Number.isNaN(d.getTime())) throw new PutioInputError(t("op.filter-files"), t("input.not-a-date", { what, value: String(value) }));
  return d;
}

function list(values: string[] | string | undefined): string[] | null {
  if (values === undefined || values === null) return null;
  const arr = (Array.isArray(values) ? values : String(values).split(",")).map((v) => String(v).trim().replace(/^\./, "").toLowerCase()).filter(Boolean);
  return arr.length ? arr : null;
}

/** Compile a filter once; `now` fixes "older than N days" for the whole run. */
export function compileFilter(filter: FileFilter | null | undefined, now = Date.now()): (file: FilterableFile) => boolean {
  if (!filter) return () => true;
  const types = list(filter.fileTypes);
  const exts = list(filter.extensions);
  const glob = filter.nameGlob ? globToRegExp(filter.nameGlob) : null;
  let regex: RegExp | null = null;
  if (filter.nameRegex) {
    try {
      regex = filter.nameRegex instanceof RegExp ? filter.nameRegex : new RegExp(filter.nameRegex, "i");
    } catch (err) {
      throw new PutioInputError(t("op.filter-files"), t("input.bad-name-pattern", { detail: String((err as Error).message) }));
    }
  }
  const before = filter.createdBefore ? toDate(filter.createdBefore, t("what.created-before")).getTime() : null;
  const after = filter.createdAfter ? toDate(filter.createdAfter, t("what.created-after")).getTime() : null;
  const olderThan = Number.isFinite(filter.olderThanDays) && filter.olderThanDays! > 0 ? now - filter.olderThanDays! * DAY_MS : null;
  const min = Number.isFinite(filter.minSize) ? filter.minSize! : null;
  const max = Number.isFinite(filter.maxSize) ? filter.maxSize! : null;

  return (file) => {
    if (types && !types.includes(String(file.file_type ?? "").toLowerCase())) return false;
    if (exts) {
      const ext = (file.extension ?? /\.([^.]+)$/.exec(file.name)?.[1] ?? "").toLowerCase();
      if (!exts.includes(ext)) return false;
    }
    if (glob && !glob.test(file.name)) return false;
    if (regex && !regex.test(file.name)) return false;
    if (min !== null && file.size < min) return false;
    if (max !== null && file.size > max) return false;
    if (before !== null || after !== null || olderThan !== null) {
      const created = parsePutioDate(file.created_at)?.getTime();
      if (created === undefined) return false;
      if (before !== null && created >= before) return false;
      if (after !== null && created <= after) return false;
      if (olderThan !== null && created > olderThan) return false;
    }
    return true;
  };
}
