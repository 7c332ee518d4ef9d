/**
 * The backup's plan (pure: depends only on its input, so a dry run is the plan). Per folder, local
 * names are matched to put.io's by exact name, else by the same name in Unicode NFC when that is
 * unambiguous. Same size and, where put.io has one, the same CRC32 → skipped; otherwise replaced.
 * Two local siblings with one NFC form would be one name if put.io normalises: the first (code-unit
 * order) is backed up, the others fail. Case-only differences are distinct names (put.io's case
 * rule is not documented; the emulator is case-sensitive): matching is exact, so they never replace
 * each other, and a put.io that refused the second name would fail its rename, not overwrite.
 */
import { createHash } from "node:crypto";
import { PutioInputError } from "../core/errors";
import { t, type Text } from "../core/texts";
import { checkName } from "../core/wire";

/** Names of the backup's own temporary copies on put.io (a local name here is refused). */
export const BACKUP_TEMP_PREFIX = ".putio-backup-";

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

export const nfc = (s: string) => s.normalize("NFC");
export const dirOf = (p: string) => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "");
export const baseOf = (p: string) => p.slice(p.lastIndexOf("/") + 1);
export const join = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);

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
