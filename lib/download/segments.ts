/**
 * The resumable state of one download: the byte ranges ("segments") of a `.part` file and how far
 * each got, kept in a small sidecar (`<name>.part.json`) beside it. A sidecar only counts when it
 * names the same remote file (id, size, crc32); anything else means "start over".
 */
import type { DownloadFs } from "./fs";

export interface Segment {
  start: number;
  /** Exclusive. */
  end: number;
  /** Next byte to fetch; [start, pos) is on disk. */
  pos: number;
}

export interface PartState {
  v: 1;
  fileId: number;
  size: number;
  crc32: string | null;
  segments: Segment[];
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

function isValid(state: unknown, file: RemoteIdentity): state is PartState {
  const s = state as PartState;
  if (!s || s.v !== 1 || s.fileId !== file.id || s.size !== file.size || (s.crc32 ?? null) !== (file.crc32 ?? null)) return false;
  if (!Array.isArray(s.segments) || !s.segments.length) return false;
  let expect = 0;
  for (const seg of s.segments) {
    if (![seg.start, seg.end, seg.pos].every(Number.isSafeInteger)) return false;
    if (seg.start !== expect || seg.pos < seg.start || seg.pos > seg.end) return false;
    expect = seg.end;
  }
  return expect === s.size;
}

/** The saved state when it belongs to this very remote file and its part file is there. */
export async function loadPartState(fs: DownloadFs, partPath: string, file: RemoteIdentity): Promise<PartState | null> {
  try {
    const [text, stat] = await Promise.all([fs.readFile(sidecarPath(partPath), "utf8"), fs.stat(partPath)]);
    const state = JSON.parse(text) as unknown;
    return isValid(state, file) && stat.size === file.size ? state : null;
  } catch {
    return null;
  }
}

/** Written to a temp name and renamed, so a crash never leaves a half-written sidecar. */
export async function savePartState(fs: DownloadFs, partPath: string, state: PartState): Promise<void> {
  const side = sidecarPath(partPath);
  await fs.writeFile(side + ".tmp", JSON.stringify(state));
  await fs.rename(side + ".tmp", side);
}

export function sidecarPath(partPath: string): string {
  return partPath + ".json";
}
