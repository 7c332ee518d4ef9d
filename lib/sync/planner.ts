/**
 * The sync planner: compares the put.io tree, what the last runs wrote (the state) and what is on
 * disk now, and says what to do. Pure data in, data out: a dry run is just the plan, and the
 * invariants (nothing outside the target, nothing deleted unless asked, no user file overwritten)
 * can be checked on it without touching a disk.
 *
 * Local paths are relative to the target, "/"-joined, made of names cleaned by the download rules
 * (planLocalNames), compared folded (foldName) because the target may ignore case and Unicode form.
 */
import { foldName, planLocalNames, sanitizeName, type RemoteEntry } from "../local/names";
import { parseCrc } from "../core/crc";

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
}

/** What is on disk at a relative path (links are never followed). */
export interface LocalEntry {
  path: string;
  kind: "file" | "dir" | "link" | "other";
  size: number;
  mtimeMs: number;
  ino?: number;
}

export interface PlanOptions {
  /** Files deleted on put.io go to the local trash (else they stay and are forgotten). */
  propagateDeletes: boolean;
  /** Local files the sync did not write and put.io does not have go to the local trash. */
  removeExtras: boolean;
}

export type ConflictReason = "user-file" | "not-a-file" | "taken" | "parent-not-folder";

export type PlanAction =
  | { kind: "skip"; id: number; path: string }
  /** `replace`: the local file at `path` is ours (in the state) and gets the new content. */
  | { kind: "download"; id: number; path: string; name: string; size: number; crc32: string | null; replace: boolean }
  /** A file at `path` the sync did not write, of the remote size: kept if its CRC32 matches, else a conflict. */
  | { kind: "adopt"; id: number; path: string; size: number; crc32: string | null }
  | { kind: "rename"; id: number; from: string; to: string }
  /** `id`: a synced file deleted on put.io; null: a local extra. */
  | { kind: "trash"; id: number | null; path: string }
  /** Deleted on put.io, deletions not propagated: the file stays and is no longer the sync's. */
  | { kind: "forget"; id: number; path: string }
  | { kind: "conflict"; id: number; path: string; reason: ConflictReason };

export interface Plan {
  actions: PlanAction[];
  /** Where each put.io file belongs locally (id → relative path). */
  wanted: Map<number, string>;
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
    return !!l && oursOnDisk(s) && l.size === s.size && l.mtimeMs === s.mtimeMs;
  };

  // Synced files gone from put.io.
  const vacated = new Set<string>();
  const trashed = new Set<string>();
  for (const [id, s] of state) {
    if (byId.has(id) || !isSafeRelPath(s.path)) continue;
    const l = at(s.path);
    if (!l) continue; // already gone locally: the state simply forgets it
    // With "remove local extras" a file put.io no longer has is an extra too (else the next run would trash it).
    if ((opts.propagateDeletes || opts.removeExtras) && oursOnDisk(s)) {
      actions.push({ kind: "trash", id, path: l.path });
      vacated.add(foldName(s.path));
      trashed.add(foldName(s.path));
    } else actions.push({ kind: "forget", id, path: l.path });
  }

  // Local extras (asked for): files the sync did not write, that no put.io file will take.
  if (opts.removeExtras) {
    const wantedKeys = new Set([...wanted.values()].map(foldName));
    for (const l of local) {
      const key = foldName(l.path);
      if ((l.kind === "file" || l.kind === "link") && !tracked.has(key) && !wantedKeys.has(key) && !trashed.has(key)) {
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
      const adoptable = !!here && here.kind === "file" && here.size === r.size && !tracked.has(foldName(to));
      if (isFree(to, vacated) || adoptable) {
        leaving.set(r.id, old.path);
        // Only a trashed copy frees its place; a forgotten one stays there (the user's now).
        if (opts.propagateDeletes || opts.removeExtras) vacated.add(foldName(old.path));
        changed = true;
      }
    }
  }

  for (const r of remote) {
    const to = wanted.get(r.id)!;
    const s = state.get(r.id);
    const sameContent = !!s && s.size === r.size && sameCrc(s.crc32, r.crc32);
    const download = (replace: boolean): PlanAction => ({ kind: "download", id: r.id, path: to, name: r.name, size: r.size, crc32: r.crc32, replace });
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
      if (opts.propagateDeletes || opts.removeExtras) actions.push({ kind: "trash", id: null, path: old });
      else actions.push({ kind: "forget", id: r.id, path: old });
    };
    if (isFree(to, vacated)) {
      leaveOld();
      actions.push(download(false));
      continue;
    }
    const owner = tracked.get(foldName(to));
    if (owner !== undefined && owner !== r.id && !leaving.has(owner)) actions.push({ kind: "conflict", id: r.id, path: to, reason: "taken" });
    else if (here!.kind !== "file") actions.push({ kind: "conflict", id: r.id, path: to, reason: "not-a-file" });
    else if (here!.size === r.size) {
      leaveOld();
      actions.push({ kind: "adopt", id: r.id, path: to, size: r.size, crc32: r.crc32 });
    } else actions.push({ kind: "conflict", id: r.id, path: to, reason: "user-file" });
  }

  return { actions, wanted };
}
