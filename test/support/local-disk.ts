/**
 * Checks for the local-disk tests (issue 25): a witness that looks at the disk at the very moment
 * the emulator deletes a file, and the package's own hidden files left in a tree.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Emulator } from "../emulator";

/** The bytes a put.io file's download holds: the file's own, or (variant "mp4") its MP4 version's. */
export function remoteBytes(emu: Emulator, id: number, variant?: string): Buffer | null {
  if (variant === "mp4") {
    for (const d of emu.state.derived.values()) if (d.sourceId === id && d.node.content) return d.node.content.read();
    return null;
  }
  try {
    return emu.state.fileBytes(id);
  } catch {
    return null;
  }
}

/** Every regular file under `root` (links not followed), by real identity, with its path. */
export function regularFiles(root: string): Array<{ path: string; key: string; size: number }> {
  const out: Array<{ path: string; key: string; size: number }> = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(dir, n);
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push({ path: p, key: `${st.dev}:${st.ino}`, size: st.size });
    }
  };
  walk(root);
  return out;
}

/**
 * Watches put.io deletions. At the moment the emulator deletes a file (synchronously, before it is
 * gone), the disk must hold that file's exact bytes: at the path the job reported for it (`note`)
 * when it reported one, else anywhere under the roots. Two files deleted by one request must be
 * two local files, not one reached twice. Every breach is kept in `violations` with what was seen.
 */
export class DeletionWitness {
  readonly violations: string[] = [];
  readonly deleted: number[] = [];
  private readonly reported = new Map<number, Array<{ path: string; variant?: string }>>();
  private ignored = 0;
  private readonly variants = new Map<number, string>();
  private batch = new Map<string, number>();
  private batchTimer: NodeJS.Immediate | null = null;
  private readonly listener = (id: number, json: { name?: string; file_type?: string }) => this.onDelete(id, json);
  /**
   * Deletions without the bytes the test explains itself (the user changed that very file while the
   * job ran: the package's last look before the request cannot see a change in between). Their ids go
   * to `excused`, for the test to check what must hold instead.
   */
  excuse: ((id: number, reportedPaths: string[]) => boolean) | null = null;
  readonly excused: number[] = [];

  constructor(
    private readonly emu: Emulator,
    private readonly roots: () => string[],
  ) {
    emu.state.on("file-deleting", this.listener);
  }

  /** Where a job says a file's bytes are (a FileResult, or a node's file msg payload). */
  note(r: { fileId: number; path: string; variant?: string }): void {
    const list = this.reported.get(r.fileId) ?? [];
    list.push({ path: r.path, variant: r.variant });
    this.reported.set(r.fileId, list);
  }

  /** Deletions made by `fn` are the test's own (put.io's user removing a file), not the package's. */
  async ignoring<T>(fn: () => Promise<T>): Promise<T> {
    this.ignored++;
    try {
      return await fn();
    } finally {
      this.ignored--;
    }
  }

  /** The file's download is its MP4 version (preferMp4), also when the job reported nothing. */
  expectVariant(id: number, variant: string): void {
    this.variants.set(id, variant);
  }

  stop(): void {
    this.emu.state.off("file-deleting", this.listener);
  }

  private onDelete(id: number, json: { name?: string; file_type?: string }): void {
    if (this.ignored) return;
    this.deleted.push(id);
    if (json.file_type === "FOLDER") return;
    const reps = this.reported.get(id);
    const variant = reps?.[reps.length - 1]?.variant ?? this.variants.get(id);
    const want = remoteBytes(this.emu, id, variant);
    if (!want) return void this.violations.push(`deleted ${id} (${json.name}): its bytes are unknown to the emulator`);
    this.batchTimer ??= setImmediate(() => {
      this.batch = new Map();
      this.batchTimer = null;
    });
    const candidates = reps?.length
      ? reps.map((r) => r.path).reverse()
      : this.roots().flatMap((r) =>
          regularFiles(r)
            .filter((f) => f.size === want.length)
            .map((f) => f.path),
        );
    for (const p of candidates) {
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      if (!st || !st.isFile() || st.size !== want.length) continue;
      const key = `${st.dev}:${st.ino}`;
      if (this.batch.has(key)) continue;
      if (!fs.readFileSync(p).equals(want)) continue;
      this.batch.set(key, id);
      return;
    }
    if (
      reps?.length &&
      this.excuse?.(
        id,
        reps.map((r) => r.path),
      )
    )
      return void this.excused.push(id);
    const seen = reps?.length ? reps.map((r) => describeAt(r.path, want)).join("; ") : `no free local file under ${this.roots().join(", ")} holds them`;
    this.violations.push(`deleted ${id} (${json.name}) on put.io without its ${want.length} bytes on disk: ${seen}`);
  }
}

function describeAt(p: string, want: Buffer): string {
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  if (!st) return `nothing at ${p}`;
  if (!st.isFile()) return `${p} is not a regular file`;
  const got = fs.readFileSync(p);
  return got.equals(want) ? `${p} holds them but is the local file of another file deleted in the same request` : `${p} holds other bytes (${got.length} B)`;
}

/** The package's hidden files (`.putio-*`: temp, state, lock) under `root`. */
export function ownLeftovers(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(dir, n);
      if (/^\.putio-/i.test(n)) out.push(p);
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}
