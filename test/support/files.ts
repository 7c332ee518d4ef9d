/** Local-file helpers the download specs share. */
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";

/** CRC32 of a buffer as put.io writes it (8 hex digits). */
export function crcHex(buf: Buffer): string {
  return (zlib.crc32(buf) >>> 0).toString(16).padStart(8, "0");
}

/** Every entry under `dir` (files and links), relative, sorted; empty when `dir` does not exist. */
export function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  if (fs.existsSync(dir)) walk(dir, "");
  return out.sort();
}

/** Writes `data` at `rel` under `root`, making its folders; the full path. */
export function writeUnder(root: string, rel: string, data: Buffer | string): string {
  const f = path.join(root, rel);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, data);
  return f;
}
