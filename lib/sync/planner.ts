/**
 * The sync planner: compares the put.io tree, what the last runs wrote (the state) and what is on
 * disk now, and says what to do. Pure data in, data out: a dry run is just the plan, and the
 * invariants (nothing outside the target, nothing deleted unless asked, no user file overwritten)
 * can be checked on it without touching a disk.
 *
 * Local paths are relative to the target, "/"-joined, made of names cleaned by the download rules
 * (planLocalNames), compared folded (foldName) because the target may ignore case and Unicode form.
 */
import { collisionName, foldName, planLocalNames, sanitizeName, type RemoteEntry } from "../local/names";
import { parseCrc } from "../core/crc";
import { isKeptCopyName } from "../local/conflict";

/** A file of the put.io folder: the folders from the synced folder down to it, and the file. */
export interface SyncRemoteItem {
  folders: RemoteEntry[];
  id: number;
  name: string;
  size: number;
  crc32: string | null;
}

/** What a run wrote for one put.io file, as it left it on disk. */
export interface StateEntry {
  path: string;
  size: number;
  crc32: string | null;
  mtimeMs: number;
  /** The file's inode when it was written: another file at the path (the user's) is not ours. */
  ino?: number;
  dev?: number;
  /** Its ctime when recorded: a change the user made keeping size and mtime still moves it. */
  ctimeMs?: number;
  /** CRC32 of the bytes the sync left there (put.io gives none for some files). */
  bytesCrc?: string;
  /** When a run first found the file missing from put.io (a removal waits for a second listing that says so). */
  goneSince?: number;
}

/** What is on disk at a relative path (links are never followed). */
export interface LocalEntry {
  path: string;
  kind: "file" | "dir" | "link" | "other";
  size: number;
  mtimeMs: number;
  ino?: number;
  dev?: number;
  ctimeMs?: number;
}

/**
 * What this run's listings of put.io prove about files missing from them: "verified" every listing
 * added up to its folder's size (a missing file that had bytes is gone); "unverified" some could
 * not be checked (the account root): a missing file is gone once two runs missed it; "held" one
 * contradicted itself (empty or short while put.io's size or count says otherwise): nothing is removed.
 */
export type ListingTrust = "verified" | "unverified" | "held";

export interface PlanOptions {
  /** Files deleted on put.io go to the local trash (else they stay and are forgotten). */
  propagateDeletes: boolean;
  /** Local files the sync did not write and put.io does not have go to the local trash. */
  removeExtras: boolean;
  listing: ListingTrust;
  /** Local extras (folded paths) the last run found and left for a second look (listing "unverified"). */
  extrasBefore?: Set<string>;
}

export type ConflictReason = "user-file" | "not-a-file" | "taken" | "parent-not-folder";

export type PlanAction =
  | { kind: "skip"; id: number; path: string }
  /**
   * `replace`: the local file at `path` is ours (in the state) and gets the new content, if it is
   * still the file `expect` describes; else it is the user's version and is kept as a copy.
   */
  | { kind: "download"; id: number; path: string; name: string; size: number; crc32: string | null; replace: boolean; expect?: ExpectedFile }
  /** A file at `path` the sync did not write, of the remote size: kept if its CRC32 matches, else a conflict. */
  /**
   * `written`: where put.io gives no CRC32, the CRC32 of the bytes the sync itself wrote at this
   * path for this unchanged put.io file (the file got another inode: a FUSE mount such as exFAT
   * numbers inodes anew at every mount, a restore from a backup); equal bytes are still the sync's.
   */
  | { kind: "adopt"; id: number; path: string; size: number; crc32: string | null; written?: string }
  | { kind: "rename"; id: number; from: string; to: string }
  /** `id`: a synced file deleted on put.io; null: a local extra. */
  | { kind: "trash"; id: number | null; path: string }
  /** Deleted on put.io, deletions not propagated: the file stays and is no longer the sync's. */
  | { kind: "forget"; id: number; path: string }
  | { kind: "conflict"; id: number; path: string; reason: ConflictReason }
  /** Missing from put.io, not yet proven gone: the file stays the sync's (`mark`: this run counts as the first "gone"). */
  | { kind: "wait"; id: number; path: string; mark: boolean };

/** The sync's file as it left it: what a replace expects to find. */
export interface ExpectedFile {
  dev?: number;
  ino?: number;
  size: number;
  mtimeMs: number;
  ctimeMs?: number;
  /** CRC32 of the bytes it left there, when known. */
  crc?: string;
}

export interface Plan {
  actions: PlanAction[];
  /** Where each put.io file belongs locally (id → relative path). */
  wanted: Map<number, string>;
  /** Local extras (folded paths) left for a second look. */
  extras: string[];
}

/** A relative path a state file may name: clean components only (a tampered state is ignored). */
export function isSafeRelPath(p: unknown): p is string {
  if (typeof p !== "string" || p === "") return false;
  return p.split("/").every((c) => c !== "" && c !== "." && c !== ".." && sanitizeName(c) === c);
}

export function sameCrc(a: string | null | undefined, b: string | null | undefined): boolean {
  const x = parseCrc(a);
  const y = parseCrc(b);
  return x === null || y === null ? x === y : x === y;
}

/** The local relative path of every remote file (one-to-one under foldName, see planLocalNames). */
export function localPaths(remote: SyncRemoteItem[]): Map<number, string> {
  const names = planLocalNames(remote.map((r) => ({ folders: r.folders, file: { id: r.id, name: r.name } })));
  return new Map(remote.map((r, i) => [r.id, [...names[i]!.dirs, names[i]!.name].join("/")]));
}

export function planSync(remote: SyncRemoteItem[], stateIn: Map<number, StateEntry>, local: LocalEntry[], opts: PlanOptions): Plan {
  const wanted = localPaths(remote);
  const byId = new Map(remote.map((r) => [r.id, r]));
  const onDisk = new Map(local.map((l) => [foldName(l.path), l]));
  const actions: PlanAction[] = [];
  const at = (p: string) => onDisk.get(foldName(p));
  /** The file at the state's path is the one the sync wrote (same inode, where both are known). */
  const oursOnDisk = (s: StateEntry) => {
    const l = at(s.path);
    return !!l && l.kind === "file" && (s.ino === undefined || l.ino === undefined || s.ino === l.ino);
  };
  // One local file belongs to one put.io file: a state that says otherwise (damaged, edited) keeps
  // one claimant per path (the one whose file is on disk, then one put.io still has, then the lowest
  // id), so one file is never both moved and trashed.
  const state = new Map<number, StateEntry>();
  const claimant = new Map<string, number>();
  const better = (a: number, b: number) => {
    const [sa, sb] = [oursOnDisk(stateIn.get(a)!), oursOnDisk(stateIn.get(b)!)];
    if (sa !== sb) return sa;
    return byId.has(a) !== byId.has(b) ? byId.has(a) : a < b;
  };
  for (const [id, s] of stateIn) {
    if (!isSafeRelPath(s.path)) continue;
    const key = foldName(s.path);
    const other = claimant.get(key);
    if (other !== undefined && !better(id, other)) continue;
    if (other !== undefined) state.delete(other);
    claimant.set(key, id);
    state.set(id, s);
  }
  // Files of the sync that put.io still has, where the file at their path is the one the sync wrote
  // (or nothing): a file the user put there instead is the user's (the others are trashed or forgotten below).
  const tracked = new Map<string, number>();
  for (const [id, s] of state) if (byId.has(id) && (!at(s.path) || oursOnDisk(s))) tracked.set(foldName(s.path), id);
  /** The state's file is still what the sync left there. */
  const untouched = (s: StateEntry) => {
    const l = at(s.path);
    return (
      !!l && oursOnDisk(s) && l.size === s.size && l.mtimeMs === s.mtimeMs && (s.ctimeMs === undefined || l.ctimeMs === undefined || l.ctimeMs === s.ctimeMs)
    );
  };
  const expectOf = (s: StateEntry): ExpectedFile => {
    const l = at(s.path);
    const dev = s.dev ?? l?.dev;
    const crc = s.bytesCrc ?? s.crc32 ?? undefined;
    return {
      size: s.size,
      mtimeMs: s.mtimeMs,
      ...(dev !== undefined ? { dev } : {}),
      ...(s.ino !== undefined ? { ino: s.ino } : {}),
      ...(s.ctimeMs !== undefined ? { ctimeMs: s.ctimeMs } : {}),
      ...(crc ? { crc } : {}),
    };
  };
  /**
   * A synced file put.io's listing lacks is gone only with proof: no listing of the run
   * contradicted itself, and either the listings added up to their folders' sizes (and the file
   * had bytes: a short listing can only lack files of size 0 then) or an earlier run missed it too.
   */
  const provenGone = (s: StateEntry) => opts.listing !== "held" && ((opts.listing === "verified" && s.size > 0) || s.goneSince !== undefined);

  // Synced files gone from put.io.
  const vacated = new Set<string>();
  const trashed = new Set<string>();
  for (const [id, s] of state) {
    if (byId.has(id) || !isSafeRelPath(s.path)) continue;
    const l = at(s.path);
    if (!l) continue; // already gone locally: the state simply forgets it
    if (!provenGone(s)) {
      actions.push({ kind: "wait", id, path: l.path, mark: opts.listing !== "held" && s.goneSince === undefined });
      continue;
    }
    // With "remove local extras" a file put.io no longer has is an extra too (else the next run would trash it).
    // A file the user changed since the sync wrote it is theirs: kept, never trashed.
    if ((opts.propagateDeletes || opts.removeExtras) && oursOnDisk(s) && untouched(s)) {
      actions.push({ kind: "trash", id, path: l.path });
      vacated.add(foldName(s.path));
      trashed.add(foldName(s.path));
    } else actions.push({ kind: "forget", id, path: l.path });
  }

  // Local extras (asked for): files the sync did not write, that no put.io file will take. Never
  // on a listing that contradicted itself; on one that could not be checked, only when the last
  // run found the same extra. The sync's files waiting for proof and copies kept of the user's
  // versions are not extras.
  const extras: string[] = [];
  if (opts.removeExtras && opts.listing !== "held") {
    const wantedKeys = new Set([...wanted.values()].map(foldName));
    const waiting = new Set(actions.filter((a) => a.kind === "wait").map((a) => foldName(a.path)));
    for (const l of local) {
      const key = foldName(l.path);
      if (
        (l.kind === "file" || l.kind === "link") &&
        !tracked.has(key) &&
        !wantedKeys.has(key) &&
        !trashed.has(key) &&
        !waiting.has(key) &&
        !isKeptCopyName(l.path)
      ) {
        if (opts.listing !== "verified" && !opts.extrasBefore?.has(key)) {
          extras.push(key);
          continue;
        }
        actions.push({ kind: "trash", id: null, path: l.path });
        vacated.add(key);
      }
    }
  }

  // Folders on disk and what is below them: a folder all of whose files leave is removed by the
  // executor before anything arrives (removeEmptyUp), so its place is free; an empty folder stays.
  const filesBelow = new Map<string, string[]>();
  const dirsBelow = new Map<string, string[]>();
  for (const l of local) {
    const parts = l.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const d = foldName(parts.slice(0, i).join("/"));
      const into = l.kind === "dir" ? dirsBelow : filesBelow;
      (into.get(d) ?? into.set(d, []).get(d)!).push(foldName(l.path));
    }
  }
  const isFree = (p: string, freed: Set<string>): boolean => {
    const l = at(p);
    if (!l || freed.has(foldName(p))) return true;
    if (l.kind !== "dir") return false;
    const files = filesBelow.get(foldName(p)) ?? [];
    const dirs = dirsBelow.get(foldName(p)) ?? [];
    return files.length > 0 && files.every((k) => freed.has(k)) && dirs.every((d) => (filesBelow.get(d) ?? []).length > 0);
  };
  /** Every folder of `to` is a folder on disk (or nothing, or a file that leaves). */
  const parentsOk = (to: string, freed: Set<string>): boolean => {
    const parts = to.split("/");
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join("/");
      const l = at(p);
      if (l && l.kind !== "dir" && !freed.has(foldName(p))) return false;
    }
    return true;
  };

  // Moves: a synced file whose put.io path changed moves locally when its new place is free,
  // or is freed by another move of this plan (swaps included: the executor moves in two steps).
  const moving = new Map<number, { from: string; to: string }>();
  for (const r of remote) {
    const s = state.get(r.id);
    const to = wanted.get(r.id)!;
    if (s && s.path !== to && oursOnDisk(s)) moving.set(r.id, { from: s.path, to });
  }
  for (let changed = true; changed;) {
    changed = false;
    const freed = new Set([...vacated, ...[...moving.values()].map((m) => foldName(m.from))]);
    for (const [id, m] of moving) {
      if (!isFree(m.to, freed) || !parentsOk(m.to, freed)) {
        moving.delete(id);
        changed = true;
      }
    }
  }
  for (const m of moving.values()) vacated.add(foldName(m.from));
  // Two moves onto one place cannot happen (wanted is one-to-one), so every free place has one taker.

  // A copy of ours left at the old place when the file gets a new one there (its move was not
  // possible): no longer put.io's file, it goes like a deleted one. Decided before the places are
  // handed out, since leaving frees a place another file may want.
  const leaving = new Map<number, string>();
  for (let changed = true; changed;) {
    changed = false;
    for (const r of remote) {
      const s = state.get(r.id);
      const to = wanted.get(r.id)!;
      if (!s || moving.has(r.id) || leaving.has(r.id) || foldName(s.path) === foldName(to)) continue;
      const old = at(s.path);
      if (!old || !oursOnDisk(s) || vacated.has(foldName(old.path)) || !parentsOk(to, vacated)) continue;
      const here = at(to);
      const adoptable = !!here && here.kind === "file" && here.size === r.size && !tracked.has(foldName(to)) && !keptBeside(s, to, r.id);
      if (isFree(to, vacated) || adoptable) {
        leaving.set(r.id, old.path);
        // Only a trashed copy frees its place; a forgotten one stays there (the user's now), as does one the user changed.
        if ((opts.propagateDeletes || opts.removeExtras) && untouched(s)) vacated.add(foldName(old.path));
        changed = true;
      }
    }
  }

  for (const r of remote) {
    const to = wanted.get(r.id)!;
    const s = state.get(r.id);
    const sameContent = !!s && s.size === r.size && sameCrc(s.crc32, r.crc32);
    const download = (replace: boolean, at = to): PlanAction => ({
      kind: "download",
      id: r.id,
      path: at,
      name: r.name,
      size: r.size,
      crc32: r.crc32,
      replace,
      ...(replace && s ? { expect: expectOf(s) } : {}),
    });
    if (!parentsOk(to, vacated)) {
      actions.push({ kind: "conflict", id: r.id, path: to, reason: "parent-not-folder" });
      continue;
    }
    const m = moving.get(r.id);
    if (m) {
      actions.push({ kind: "rename", id: r.id, from: m.from, to });
      const wasUntouched = untouched(s!);
      if (!(sameContent && wasUntouched)) actions.push(download(true));
      continue;
    }
    const here = at(to);
    // The sync's own file at its own place (a file the user put there instead is not ours).
    const ours = s && foldName(s.path) === foldName(to) && (!here || here.kind !== "file" || oursOnDisk(s));
    if (ours && here && !(here.kind === "dir" && isFree(to, vacated))) {
      if (here.kind !== "file") actions.push({ kind: "conflict", id: r.id, path: to, reason: "not-a-file" });
      else if (sameContent && untouched(s)) actions.push({ kind: "skip", id: r.id, path: to });
      else actions.push(download(true));
      continue;
    }
    const leaveOld = () => {
      const old = leaving.get(r.id);
      if (!old) return;
      if ((opts.propagateDeletes || opts.removeExtras) && untouched(s!)) actions.push({ kind: "trash", id: null, path: old });
      else actions.push({ kind: "forget", id: r.id, path: old });
    };
    if (isFree(to, vacated)) {
      leaveOld();
      actions.push(download(false));
      continue;
    }
    const owner = tracked.get(foldName(to));
    if (owner !== undefined && owner !== r.id && !leaving.has(owner)) actions.push({ kind: "conflict", id: r.id, path: to, reason: "taken" });
    else if (s && oursOnDisk(s) && keptBeside(s, to, r.id)) {
      // Its name is taken by a file that is not the sync's (a case twin's copy the sync let go):
      // it stays where it is, under the name with its put.io id, as any name collision would.
      if (sameContent && untouched(s)) actions.push({ kind: "skip", id: r.id, path: s.path });
      else actions.push(download(true, at(s.path)!.path));
    } else if (here!.kind !== "file") actions.push({ kind: "conflict", id: r.id, path: to, reason: "not-a-file" });
    else if (here!.size === r.size) {
      leaveOld();
      // The file on disk, under its own spelling (the wanted one may differ in case only).
      const written = s && foldName(s.path) === foldName(to) && sameContent && s.bytesCrc ? { written: s.bytesCrc } : {};
      actions.push({ kind: "adopt", id: r.id, path: here!.path, size: r.size, crc32: r.crc32, ...written });
    } else actions.push({ kind: "conflict", id: r.id, path: to, reason: "user-file" });
  }

  return { actions, wanted, extras };
}

/** The state's path is the file's wanted name with its put.io id (how a name collision is settled), in the same folder. */
function keptBeside(s: StateEntry, to: string, id: number): boolean {
  const i = s.path.lastIndexOf("/");
  const j = to.lastIndexOf("/");
  if (foldName(s.path.slice(0, i + 1)) !== foldName(to.slice(0, j + 1))) return false;
  const name = foldName(s.path.slice(i + 1));
  const want = to.slice(j + 1);
  for (let k = 1; k <= 9; k++) if (foldName(collisionName(want, k === 1 ? String(id) : `${id}-${k}`, false)) === name) return true;
  return false;
}
