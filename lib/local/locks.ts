/**
 * Claims that hold across processes: users run two Node-RED instances (a Home Assistant add-on
 * and a NAS container) against one NAS folder. A claimed place gets a lock file beside it,
 * created with O_EXCL, refreshed while held (its mtime is the heartbeat) and removed on release.
 * A lock whose heartbeat stopped (its process died or was killed) is stale and taken over; on the
 * same host a lock whose process is gone is stale sooner.
 */
import { createHash, randomBytes } from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import { OPEN, removeIfPresent, type LocalFs } from "./fs";
import { commitNoClobber } from "./commit";
import { foldName } from "./names";

export interface LockTiming {
  /** How often a held lock's mtime is refreshed. */
  heartbeatMs: number;
  /** A lock not refreshed for this long belongs to a process that is gone. */
  staleMs: number;
}

export const DEFAULT_LOCK_TIMING: LockTiming = { heartbeatMs: 5_000, staleMs: 30_000 };

/** The lock file of a name in a real folder (hidden, in the package's own `.putio-` namespace). */
export function lockPath(realDir: string, name: string): string {
  const h = createHash("sha1").update(foldName(name)).digest("hex").slice(0, 16);
  return path.join(realDir, `.putio-lock-${h}`);
}

interface LockContent {
  pid: number;
  host: string;
  token: string;
}

const INSTANCE = randomBytes(6).toString("hex");

/** A held lock: `release()` stops the heartbeat and removes the file (only if it is still ours). */
export interface HeldLock {
  release(): Promise<void>;
}

/**
 * Take the lock file at `file` now, or null when a live holder has it. Taking over a stale lock
 * moves it aside first, so two takers never both win.
 */
export async function tryLock(fs: LocalFs, file: string, timing: LockTiming = DEFAULT_LOCK_TIMING): Promise<HeldLock | null> {
  const content: LockContent = { pid: process.pid, host: os.hostname(), token: `${INSTANCE}-${randomBytes(6).toString("hex")}` };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await fs.open(file, OPEN.createNew, 0o644);
      try {
        const buf = Buffer.from(JSON.stringify(content));
        await fh.write(buf, 0, buf.length, 0);
      } catch (err) {
        // A lock we could not finish (a full disk) is removed, not left for others to wait on.
        await fh.close().catch(() => {});
        await removeIfPresent(fs, file).catch(() => {});
        throw err;
      }
      await fh.close();
      return heldLock(fs, file, content.token, timing);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    if (!(await takeOverIfStale(fs, file, timing))) return null;
  }
  return null;
}

function heldLock(fs: LocalFs, file: string, token: string, timing: LockTiming): HeldLock {
  const beat = setInterval(() => {
    const now = new Date();
    fs.utimes(file, now, now).catch(() => {});
  }, timing.heartbeatMs);
  beat.unref?.();
  let released: Promise<void> | null = null;
  return {
    release: () =>
      (released ??= (async () => {
        clearInterval(beat);
        // Remove it only while it is ours: a holder that lost it (stale, taken over) leaves the new one.
        const mine = await readLock(fs, file).then(
          (c) => c?.token === token,
          () => false,
        );
        if (mine) await removeIfPresent(fs, file).catch(() => {});
      })()),
  };
}

async function readLock(fs: LocalFs, file: string): Promise<LockContent | null> {
  try {
    const c = JSON.parse(await fs.readFile(file, "utf8")) as Partial<LockContent>;
    return typeof c.token === "string" && typeof c.pid === "number" && typeof c.host === "string" ? (c as LockContent) : null;
  } catch {
    return null;
  }
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/**
 * How long this process has seen the lock's mtime unchanged. A lock's age by its mtime alone would
 * trust two clocks (a NAS sets the mtime of a new file by its own clock): a heartbeat we watched
 * not happen is what shows that its holder is gone.
 */
const watched = new Map<string, { mtimeMs: number; since: number }>();
function unchangedFor(file: string, mtimeMs: number): number {
  const w = watched.get(file);
  if (!w || w.mtimeMs !== mtimeMs) {
    watched.set(file, { mtimeMs, since: Date.now() });
    return 0;
  }
  return Date.now() - w.since;
}

async function isStale(fs: LocalFs, file: string, timing: LockTiming): Promise<boolean> {
  const st = await fs.lstat(file).catch(() => null);
  if (!st) {
    watched.delete(file);
    return true;
  }
  const quiet = unchangedFor(file, st.mtimeMs);
  if (quiet > timing.staleMs) return true;
  // An old lock (by its mtime) is taken over once we saw two heartbeats not come.
  if (quiet > 2 * timing.heartbeatMs && Date.now() - st.mtimeMs > timing.staleMs) return true;
  const c = await readLock(fs, file);
  // A lock being written has no content yet: young and unreadable means alive.
  if (!c) return false;
  if (c.host === os.hostname() && c.pid !== process.pid && quiet > 2 * timing.heartbeatMs && processGone(c.pid)) return true;
  return false;
}

async function takeOverIfStale(fs: LocalFs, file: string, timing: LockTiming): Promise<boolean> {
  if (!(await isStale(fs, file, timing))) return false;
  const aside = `${file}.stale-${randomBytes(4).toString("hex")}`;
  try {
    await fs.rename(file, aside);
  } catch (err) {
    // Gone already (released, or another taker moved it): try to create it again.
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw err;
  }
  // Moved aside, it is ours to judge once more: its mtime must still be the one we watched.
  const moved = await fs.lstat(aside).catch(() => null);
  const w = watched.get(file);
  watched.delete(file);
  if (!moved || (w && moved.mtimeMs === w.mtimeMs)) {
    await removeIfPresent(fs, aside).catch(() => {});
    return true;
  }
  // Another process took it over between our look and our move: give its lock back.
  await commitNoClobber(fs, aside, file).catch(() => removeIfPresent(fs, aside).catch(() => {}));
  return false;
}
