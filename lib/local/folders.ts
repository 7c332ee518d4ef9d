/**
 * Local folders: a target made ready, and the folders of a file made inside it. The one way every
 * engine creates folders on the local disk: one level at a time (a recursive mkdir under /proc
 * never returned), and a folder link among them must still lead inside the target.
 */
import { constants } from "node:fs";
import * as path from "node:path";
import { PutioInputError } from "../core/errors";
import { t, type TextOrString } from "../core/texts";
import type { LocalFs, LocalStats } from "./fs";
import { assertInside } from "./names";

/**
 * Make sure `target` is a writable folder, creating missing folders one level at a time. Every
 * answer is a clear error: a missing parent, a file in the way, no permission, or a pseudo file
 * system that refuses (a recursive mkdir under /proc never returned; one level at a time fails).
 */
export async function ensureTargetFolder(fs: LocalFs, target: string, attempted: TextOrString = t("op.download-job")): Promise<string> {
  if (!path.isAbsolute(target)) throw new PutioInputError(attempted, t("input.not-absolute-target", { path: String(target) }));
  const full = path.resolve(target);
  const missing: string[] = [];
  let at = full;
  for (;;) {
    let st: LocalStats | null;
    try {
      st = await fs.stat(at);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR")
        throw new PutioInputError(attempted, t("input.target-unreachable", { path: full, at, detail: String(code ?? (err as Error).message) }));
      st = null;
    }
    if (st) {
      if (!st.isDirectory()) throw new PutioInputError(attempted, t("input.target-part-not-folder", { path: full, at }));
      break;
    }
    const parent = path.dirname(at);
    if (parent === at) throw new PutioInputError(attempted, t("input.target-nothing-exists", { path: full }));
    missing.unshift(at);
    at = parent;
  }
  for (const dir of missing) {
    try {
      await fs.mkdir(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (
        code === "EEXIST" &&
        (await fs.stat(dir).then(
          (s) => s.isDirectory(),
          () => false,
        ))
      )
        continue;
      throw new PutioInputError(attempted, t("input.target-not-created", { path: full, at: dir, detail: String(code ?? (err as Error).message) }));
    }
  }
  try {
    await fs.access(full, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new PutioInputError(
      attempted,
      t("input.target-not-writable", { path: full, detail: String((err as NodeJS.ErrnoException).code ?? (err as Error).message) }),
    );
  }
  return full;
}

/** A path relative to a real folder that stays inside it (segments, not a string prefix: "..name" is inside). */
export function isInside(rel: string): boolean {
  return rel === "" || (!path.isAbsolute(rel) && rel !== ".." && !rel.startsWith(".." + path.sep));
}

/** A path cut in the middle for a message (a 4 KB path is unreadable in a status or a log). */
export function shortPath(p: string, max = 160): string {
  return p.length <= max ? p : `${p.slice(0, max / 2 - 1)}…${p.slice(p.length - max / 2)}`;
}

/**
 * The folders `dirs` (cleaned names) under `root`, created one level at a time; each must be a
 * folder whose real path is inside `realRoot`. Returns the innermost.
 */
export async function makeFoldersInside(
  fs: LocalFs,
  realRoot: string,
  root: string,
  dirs: string[],
  attempted: TextOrString = t("op.download-job"),
): Promise<string> {
  let dir = root;
  for (const d of dirs) {
    dir = path.join(dir, d);
    assertInside(root, dir);
    await fs.mkdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENAMETOOLONG") throw new PutioInputError(attempted, t("local.path-too-long", { path: shortPath(dir), length: Buffer.byteLength(dir) }));
      if (err.code !== "EEXIST") throw err;
    });
    const real = await fs.realpath(dir);
    if (!isInside(path.relative(realRoot, real))) throw new PutioInputError(attempted, t("input.link-outside-target", { path: dir }));
    if (!(await fs.stat(real)).isDirectory()) throw new PutioInputError(attempted, t("input.not-a-folder", { path: dir }));
  }
  return dir;
}
