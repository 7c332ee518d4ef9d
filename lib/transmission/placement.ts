/**
 * Where a torrent goes: the app's download-dir → a category, the local folder under the node's
 * download folder and the put.io folder; and the checks that keep every local path inside the
 * download folder (by path segments, and with links resolved).
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { ensureTargetFolder, makeFoldersInside } from "../local/folders";
import { nodeFs } from "../local/fs";
import { PutioInputError } from "../core/errors";
import { t } from "../core/texts";
import { assertInside, sanitizeName } from "../local/names";
import { RpcError } from "./rpc";

/**
 * `p` is strictly below `dir`: a question of path segments (a name may start with dots:
 * "...And Justice for All" is inside, "../x" is not).
 */
export function isWithin(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel !== "" && rel !== ".." && !rel.startsWith(".." + path.sep) && !path.isAbsolute(rel);
}

export function posixDir(dir: string): string {
  const n = path.posix.normalize(dir.replace(/\\/g, "/"));
  return n.length > 1 ? n.replace(/\/+$/, "") : n;
}

export interface Place {
  category: string;
  downloadDir: string;
  localDir: string;
  putioPath: string;
}

export class Placement {
  constructor(
    /** Absolute local folder every torrent lands under. */
    readonly localRoot: string,
    /** The download dir the apps are told. */
    readonly sessionDir: string,
    /** put.io folder path the transfers are saved under. */
    readonly putioRoot: string,
  ) {}

  /** Category, downloadDir and local folder of a download-dir; anything outside the session dir is refused. */
  placeOf(downloadDir: string | null): Place {
    const rootPath = posixDir(this.putioRoot || "/");
    if (!downloadDir) return { category: "", downloadDir: this.sessionDir, localDir: this.localRoot, putioPath: rootPath };
    if (downloadDir.length > 1024 || /[\u0000-\u001f]/.test(downloadDir)) throw new RpcError("download-dir is not a usable path");
    const dir = posixDir(downloadDir);
    const rel = path.posix.relative(this.sessionDir, dir);
    if (rel === ".." || rel.startsWith("../") || path.posix.isAbsolute(rel)) {
      throw new RpcError(`download-dir "${downloadDir}" is outside the download folder "${this.sessionDir}": use a category below it`);
    }
    const segments = rel ? rel.split("/") : [];
    if (segments.length > 4) throw new RpcError(`download-dir "${downloadDir}" is nested too deeply (at most 4 folders below the download folder)`);
    for (const s of segments) {
      if (sanitizeName(s) !== s) throw new RpcError(`the category folder "${s}" has characters a folder name cannot have`);
    }
    const localDir = path.join(this.localRoot, ...segments);
    assertInside(this.localRoot, localDir + path.sep + "x");
    return {
      category: segments.join("/"),
      downloadDir: segments.length ? `${this.sessionDir === "/" ? "" : this.sessionDir}/${segments.join("/")}` : this.sessionDir,
      localDir,
      putioPath: segments.length ? `${rootPath === "/" ? "" : rootPath}/${segments.join("/")}` : rootPath,
    };
  }

  /**
   * The torrent's local folder, made inside the download folder (lib/local: one level at a time,
   * each level checked before the next is made, so a link never leads a mkdir outside). Returns
   * the category folders below the download folder that were not there before (made here).
   */
  async checkLocalDir(dir: string): Promise<string[]> {
    const attempted = t("op.transmission-local");
    const root = await ensureTargetFolder(nodeFs, this.localRoot, attempted);
    const realRoot = await fsp.realpath(root);
    const levels = path.relative(root, dir).split(path.sep).filter(Boolean);
    const missing: string[] = [];
    for (let i = 1; i <= levels.length; i++) {
      const p = path.join(root, ...levels.slice(0, i));
      if (!(await fsp.lstat(p).catch(() => null))) missing.push(p);
    }
    await makeFoldersInside(nodeFs, realRoot, root, levels, attempted);
    return missing;
  }

  async assertInsideRoot(realRoot: string, p: string): Promise<void> {
    const real = await fsp.realpath(p);
    if (real !== realRoot && !isWithin(realRoot, real)) throw new PutioInputError(t("op.transmission-local"), t("transmission.link-outside", { path: p }));
  }
}
