/**
 * Archives put.io extracts, recognised by name: single ZIP and RAR files and multi-part sets
 * (`name.part01.rar`…, `name.rar` + `name.r00`…, `name.zip` + `name.z01`…). A set is extracted once,
 * from its first volume; its other volumes are parts to skip (or keep) when downloading. Volumes
 * belong to one set only when they sit in the same folder.
 */

export type ArchiveFormat = "rar" | "zip";

export interface ArchiveVolume {
  /** The set's name without the volume suffix ("Show.S01" for "Show.S01.part01.rar"). */
  base: string;
  format: ArchiveFormat;
  /** How the volumes are named: "part" (name.partNN.rar), "classic" (name.rar, name.r00…), "zip" (name.zip, name.z01…). */
  style: "part" | "classic" | "zip";
  /** Order inside the set (the first volume has the lowest). */
  order: number;
}

/** What a file name says about the archive volume it is, or null for anything else. */
export function archiveVolumeOf(name: string): ArchiveVolume | null {
  if (typeof name !== "string") return null;
  let m = /^(.+)\.part(\d{1,4})\.rar$/i.exec(name);
  if (m) return { base: m[1]!, format: "rar", style: "part", order: Number(m[2]!) };
  m = /^(.+)\.rar$/i.exec(name);
  if (m) return { base: m[1]!, format: "rar", style: "classic", order: 0 };
  // .r00 follows .rar; three digits after .r99.
  m = /^(.+)\.r(\d{2,3})$/i.exec(name);
  if (m) return { base: m[1]!, format: "rar", style: "classic", order: Number(m[2]!) + 1 };
  m = /^(.+)\.zip$/i.exec(name);
  if (m) return { base: m[1]!, format: "zip", style: "zip", order: 0 };
  m = /^(.+)\.z(\d{2,3})$/i.exec(name);
  if (m) return { base: m[1]!, format: "zip", style: "zip", order: Number(m[2]!) };
  return null;
}

export interface ArchiveFileLike {
  id: number;
  name: string;
  parent_id?: number | null;
  file_type?: string;
}

export interface ArchiveSet<F extends ArchiveFileLike = ArchiveFileLike> {
  /** Unique per folder and set. */
  key: string;
  format: ArchiveFormat;
  /** The volume put.io extracts from. */
  first: F;
  /** Every volume, first first. */
  parts: F[];
  /** Volume positions missing between the first expected and the last present (empty when complete). */
  missing: number[];
}

/** The position the first volume of a set of this style has. */
function firstOrder(style: ArchiveVolume["style"], orders: number[]): number {
  // part1 is usual, part0 occurs; classic and zip sets start at the .rar / .zip (order 0).
  return style === "part" ? Math.min(1, ...orders) : 0;
}

/**
 * The archive sets among these files. Folders and other files are ignored; a lone ".r00" or
 * ".z01" still makes a set (with `missing` naming what is not there), so the caller can say so.
 */
export function recognizeArchiveSets<F extends ArchiveFileLike>(files: Iterable<F>): ArchiveSet<F>[] {
  const groups = new Map<string, { style: ArchiveVolume["style"]; format: ArchiveFormat; items: Array<{ f: F; order: number }> }>();
  for (const f of files) {
    if (f.file_type === "FOLDER") continue;
    const v = archiveVolumeOf(f.name);
    if (!v) continue;
    const key = `${f.parent_id ?? ""}/${v.style}/${v.base}`;
    const g = groups.get(key) ?? { style: v.style, format: v.format, items: [] };
    g.items.push({ f, order: v.order });
    groups.set(key, g);
  }
  const sets: ArchiveSet<F>[] = [];
  for (const [key, g] of groups) {
    // Same volume twice (only possible with different name case or padding: a.part1.rar, a.part01.rar): the lower id wins.
    g.items.sort((a, b) => a.order - b.order || a.f.id - b.f.id);
    const orders = g.items.map((i) => i.order);
    const start = firstOrder(g.style, orders);
    const present = new Set(orders);
    const missing: number[] = [];
    for (let o = start; o <= Math.max(...orders); o++) if (!present.has(o)) missing.push(o);
    sets.push({ key, format: g.format, first: g.items[0]!.f, parts: g.items.map((i) => i.f), missing });
  }
  return sets.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The volume names a set's missing positions stand for ("x.part02.rar", "x.r01"), for messages. */
export function missingVolumeNames(set: ArchiveSet): string[] {
  const v = archiveVolumeOf(set.first.name);
  if (!v) return [];
  return set.missing.map((o) => {
    if (v.style === "part") return `${v.base}.part${String(o).padStart(2, "0")}.rar`;
    if (v.style === "classic") return o === 0 ? `${v.base}.rar` : `${v.base}.r${String(o - 1).padStart(2, "0")}`;
    return o === 0 ? `${v.base}.zip` : `${v.base}.z${String(o).padStart(2, "0")}`;
  });
}
