/**
 * Reading node settings, once for every node: numbers, comma lists, blanks and the file filters
 * (the files and download nodes take the same filter fields and must read them the same way).
 */
import type { FileFilter } from "../../lib/domains/filters";

const MB = 1024 * 1024;

/** An editor field left empty (or never saved). */
export function isBlank(value: unknown): boolean {
  return value === undefined || value === null || String(value).trim() === "";
}

/** A non-negative finite number, or undefined for a blank or unusable field. */
export function num(value: unknown): number | undefined {
  if (isBlank(value)) return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** "a, b,,c" → ["a", "b", "c"]; undefined when nothing is left. */
export function csv(value: unknown): string[] | undefined {
  const list = String(value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return list.length ? list : undefined;
}

/** The filter fields of a files or download node. */
export interface FilterFields {
  fileTypes?: string;
  extensions?: string;
  /** A glob (`*S01E*`) or, between slashes, a regular expression (`/s\d\de\d\d/`). */
  namePattern?: string;
  minSizeMb?: string | number;
  maxSizeMb?: string | number;
  createdAfter?: string;
  createdBefore?: string;
  olderThanDays?: string | number;
}

export function filterFromFields(def: FilterFields): FileFilter {
  const pattern = String(def.namePattern ?? "").trim();
  const regex = /^\/(.+)\/$/.exec(pattern);
  const min = num(def.minSizeMb);
  const max = num(def.maxSizeMb);
  return {
    fileTypes: csv(def.fileTypes),
    extensions: csv(def.extensions),
    nameGlob: pattern && !regex ? pattern : undefined,
    nameRegex: regex ? regex[1] : undefined,
    minSize: min !== undefined ? min * MB : undefined,
    maxSize: max !== undefined ? max * MB : undefined,
    createdAfter: String(def.createdAfter ?? "").trim() || undefined,
    createdBefore: String(def.createdBefore ?? "").trim() || undefined,
    olderThanDays: num(def.olderThanDays),
  };
}

/** msg.filter adds to (and overrides) the node's filters, e.g. {olderThanDays: 30} from a dashboard. */
export function filterWithMsg(base: FileFilter, msgFilter: unknown): FileFilter {
  return msgFilter && typeof msgFilter === "object" && !Array.isArray(msgFilter) ? { ...base, ...(msgFilter as FileFilter) } : base;
}
