/**
 * The resumable state of one download: the byte ranges ("segments") of its temp file and how far
 * each got, kept in a small state file beside it (see tempPaths). The state file is written before
 * the temp file is created, so a temp file without one was not made by this package and is never
 * touched. A state only counts for resuming when it names the same remote file (id, size, crc32).
 */
import { PutioInputError } from "../core/errors";
import { t, type Text, type TextOrString } from "../core/texts";
import { lstatOrNull, removeIfPresent, writeFileAtomic, type LocalFs } from "../local/fs";
import { tempPaths } from "../local/names";

export interface Segment {
  start: number;
  /** Exclusive. */
  end: number;
  /** Next byte to fetch; [start, pos) is on disk. */
  pos: number;
}

export interface PartState {
  /** 2: hidden temp names carrying the put.io id. */
  v: 2;
  fileId: number;
  size: number;
  crc32: string | null;
  segments: Segment[];
  /** The storage answered a range with the whole file: one stream, and a cut starts over. */
  rangesRefused?: boolean;
}

export interface RemoteIdentity {
  id: number;
  size: number;
  crc32?: string | null;
}

/** N equal ranges above the threshold (each at least 1 MiB), else one. */
export function planSegments(size: number, connections: number, threshold: number): Segment[] {
  const n = size >= threshold ? Math.max(1, Math.min(Math.floor(connections), Math.floor(size / (1024 * 1024)) || 1)) : 1;
  const step = Math.ceil(size / n);
  const out: Segment[] = [];
  for (let start = 0; start < size || out.length === 0; start += step) {
    const end = Math.min(size, start + step);
    out.push({ start, end, pos: start });
    if (end >= size) break;
  }
  return out;
}

export function remaining(state: PartState): number {
  return state.segments.reduce((sum, s) => sum + (s.end - s.pos), 0);
}

export function doneBytes(state: PartState): number {
  return state.segments.reduce((sum, s) => sum + (s.pos - s.start), 0);
}

/** A state file of ours for this put.io id (whatever the size and ranges). */
function isOurs(state: unknown, fileId: number): state is PartState {
  const s = state as PartState;
  return !!s && typeof s === "object" && s.v === 2 && s.fileId === fileId;
}

function isUsable(s: PartState, file: RemoteIdentity): boolean {
  if (s.size !== file.size || (s.crc32 ?? null) !== (file.crc32 ?? null)) return false;
  // Without put.io's CRC32 nothing tells a part of today's bytes from one of bytes put.io has since
  // replaced with others of the same size: mixed bytes would pass as "written by this job". Start over.
  if (file.crc32 == null) return false;
  if (!Array.isArray(s.segments) || !s.segments.length) return false;
  let expect = 0;
  for (const seg of s.segments) {
    if (!seg || ![seg.start, seg.end, seg.pos].every(Number.isSafeInteger)) return false;
    if (seg.start !== expect || seg.pos < seg.start || seg.pos > seg.end) return false;
    expect = seg.end;
  }
  return expect === s.size;
}

/** Something at a temp or state path that is not ours: `why` an input.foreign-temp-* text. */
function refuse(attempted: TextOrString, why: Text): PutioInputError {
  return new PutioInputError(attempted, why);
}

/**
 * The state to resume from, or null to start over (after clearing our own leftovers). Anything at
 * the temp or state path that is not ours (no matching state, a link, a folder) is refused.
 */
export async function takePartState(fs: LocalFs, dir: string, file: RemoteIdentity, attempted: TextOrString): Promise<PartState | null> {
  const tp = tempPaths(dir, file.id);
  const [part, side] = await Promise.all([lstatOrNull(fs, tp.part), lstatOrNull(fs, tp.state)]);
  if (part && !part.isFile())
    throw refuse(attempted, t(part.isSymbolicLink() ? "input.foreign-temp-symlink" : "input.foreign-temp-not-file", { path: tp.part }));
  if (side && !side.isFile())
    throw refuse(attempted, t(side.isSymbolicLink() ? "input.foreign-temp-symlink" : "input.foreign-temp-not-file", { path: tp.state }));
  if (!side) {
    if (part) throw refuse(attempted, t("input.foreign-temp-no-state", { path: tp.part }));
    return null;
  }
  let state: unknown = null;
  try {
    state = JSON.parse(await fs.readFile(tp.state, "utf8"));
  } catch {
    /* unreadable: not ours */
  }
  if (!isOurs(state, file.id)) throw refuse(attempted, t("input.foreign-temp-state", { path: tp.state }));
  if (part && part.size === file.size && isUsable(state, file)) return state;
  // Ours, but for another version of the file (or the temp file is gone): start over.
  await removeIfPresent(fs, tp.part);
  await removeIfPresent(fs, tp.state);
  return null;
}

/**
 * Remove this file's temp and state files in `dir` when the state is ours (a run that was cut, here
 * or in another process that is gone): called with the file's claim held, once the file is done.
 * Anything that is not ours stays.
 */
export async function removeOwnLeftovers(fs: LocalFs, dir: string, fileId: number): Promise<void> {
  const tp = tempPaths(dir, fileId);
  let state: unknown = null;
  try {
    state = JSON.parse(await fs.readFile(tp.state, "utf8"));
  } catch {
    return;
  }
  if (!isOurs(state, fileId)) return;
  const part = await lstatOrNull(fs, tp.part);
  if (part && part.isFile()) await removeIfPresent(fs, tp.part);
  await removeIfPresent(fs, tp.state);
}

/** Written to a temp name and renamed, so a crash never leaves a half-written state. */
export async function savePartState(fs: LocalFs, dir: string, state: PartState): Promise<void> {
  const t = tempPaths(dir, state.fileId);
  await writeFileAtomic(fs, t.state, t.stateTmp, JSON.stringify(state));
}
