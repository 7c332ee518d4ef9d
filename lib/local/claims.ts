/**
 * Local paths in use by a download, for the whole process: every download node, scheduler and
 * bridge of every account claims a file's final and temp paths here before touching them, so two
 * jobs can never write one file. Keys are folded like names (foldName), since the target may
 * compare names without case. The registry lives on globalThis so that two copies of this module
 * (a package installed twice) still share it.
 */
import * as path from "node:path";
import { foldName } from "./names";

type Waiter = () => void;

export class PathClaims {
  private readonly held = new Map<string, Waiter[]>();

  static key(p: string): string {
    return foldName(path.resolve(p));
  }

  isHeld(p: string): boolean {
    return this.held.has(PathClaims.key(p));
  }

  /** Claim `p` now, or null when another download holds it. */
  tryClaim(p: string): (() => void) | null {
    const key = PathClaims.key(p);
    if (this.held.has(key)) return null;
    this.held.set(key, []);
    return this.releaser(key);
  }

  /**
   * Claim every path, waiting for holders to finish. Keys are taken in one global order, so two
   * claimants waiting for each other is impossible.
   */
  async claim(paths: string[], signal?: AbortSignal): Promise<() => void> {
    const keys = [...new Set(paths.map(PathClaims.key))].sort();
    const releases: Array<() => void> = [];
    try {
      for (const key of keys) {
        while (this.held.has(key)) await this.waitFor(key, signal);
        this.held.set(key, []);
        releases.push(this.releaser(key));
      }
    } catch (err) {
      for (const r of releases) r();
      throw err;
    }
    return () => releases.forEach((r) => r());
  }

  private waitFor(key: string, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const waiters = this.held.get(key)!;
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = waiters.indexOf(wake);
        if (i >= 0) waiters.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      waiters.push(wake);
    });
  }

  private releaser(key: string): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const waiters = this.held.get(key) ?? [];
      this.held.delete(key);
      // Every waiter re-checks: the first to run takes the key, the others wait again.
      for (const w of waiters) w();
    };
  }
}

const GLOBAL_KEY = Symbol.for("node-red-putio.local-path-claims");

/** The process-wide registry. */
export const localPathClaims: PathClaims =
  ((globalThis as Record<symbol, unknown>)[GLOBAL_KEY] as PathClaims | undefined) ??
  (((globalThis as Record<symbol, unknown>)[GLOBAL_KEY] = new PathClaims()) as PathClaims);
