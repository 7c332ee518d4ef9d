/**
 * A case-insensitive file system for the local-disk tests: exFAT (Debian's exfat-fuse + exfatprogs,
 * installed by scripts/setup.sh) on a loop image, mounted by the test. It needs root (losetup,
 * mount) and /dev/fuse; CI runs as root. exFAT folds case, keeps no hard links and no symbolic
 * links, and stores times in 10 ms steps: what a NAS's exFAT share does to the package.
 * exfat-fuse also keeps two spellings of one name apart in memory until the next mount: after
 * `a.mkv` is replaced by a rename, a read through `a.mkv` can return the old bytes while one through
 * `A.MKV` returns the new ones (no mount option changes it). Tests read a file by one spelling.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

const TOOLS = {
  mkfs: ["/usr/sbin/mkfs.exfat", "/sbin/mkfs.exfat"],
  mount: ["/usr/sbin/mount.exfat-fuse", "/sbin/mount.exfat-fuse"],
  losetup: ["/usr/sbin/losetup", "/sbin/losetup"],
};

const which = (candidates: string[]): string | undefined => candidates.find((p) => fs.existsSync(p));

/** Why exFAT cannot be mounted here, or null when it can. */
export function exfatUnavailable(): string | null {
  if (process.platform !== "linux") return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return "not running as root (losetup and mount need it; CI runs as root)";
  if (!fs.existsSync("/dev/fuse")) return "no /dev/fuse (FUSE is missing in this kernel or container)";
  const missing = Object.entries(TOOLS)
    .filter(([, c]) => !which(c))
    .map(([k]) => k);
  if (missing.length) return `missing ${missing.join(", ")} (run \`npm run setup\`: it installs exfat-fuse and exfatprogs)`;
  return null;
}

export interface ExfatMount {
  /** The mounted folder. */
  dir: string;
  unmount(): Promise<void>;
  /** Unmount and mount again: what is on the disk, without exfat-fuse's memory of other spellings. */
  remount(): Promise<void>;
}

/** A FUSE mount can be busy for a moment after the last file closed: try a few times. */
async function umount(dir: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await run("umount", [dir]);
      return;
    } catch (err) {
      if (i >= 20) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Mount a fresh exFAT image of `sizeMb` MB; throws with the tool's output when anything fails. */
export async function mountExfat(sizeMb = 96): Promise<ExfatMount> {
  const reason = exfatUnavailable();
  if (reason) throw new Error(`exFAT unavailable: ${reason}`);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "putio-exfat-"));
  const image = path.join(base, "disk.img");
  const dir = path.join(base, "mnt");
  fs.mkdirSync(dir);
  fs.closeSync(fs.openSync(image, "w"));
  fs.truncateSync(image, sizeMb * 1024 * 1024);
  await run(which(TOOLS.mkfs)!, [image]);
  const loop = (await run(which(TOOLS.losetup)!, ["-f", "--show", image])).stdout.trim();
  try {
    await run(which(TOOLS.mount)!, [loop, dir]);
    const mounted = fs
      .readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .some((l) => l.split(" ")[1] === dir);
    if (!mounted) throw new Error(`${dir} is not in /proc/mounts after mount.exfat-fuse`);
  } catch (err) {
    await run(which(TOOLS.losetup)!, ["-d", loop]).catch(() => {});
    fs.rmSync(base, { recursive: true, force: true });
    throw err;
  }
  let gone: Promise<void> | null = null;
  return {
    dir,
    unmount: () =>
      (gone ??= (async () => {
        await umount(dir);
        await run(which(TOOLS.losetup)!, ["-d", loop]).catch(() => {});
        fs.rmSync(base, { recursive: true, force: true });
      })()),
    remount: async () => {
      await umount(dir);
      await run(which(TOOLS.mount)!, [loop, dir]);
    },
  };
}
