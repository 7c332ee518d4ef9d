/**
 * Places in use by an engine, for the whole process and across processes: every download node,
 * scheduler, sync and bridge of every account claims a file's final and temp places here before
 * touching them, so two jobs can never write one file. A claim is on the place (place.ts), not the
 * path string: two paths through a folder link, or two spellings a share folds to one, are one
 * claim. Each place also gets a lock file (locks.ts) that another Node-RED process on the same
 * folder honours. The in-process registry lives on globalThis so that two copies of this module
 * (a package installed twice) still share it.
 */
import { abortableSleep } from "../core/sleep";
import { nodeFs, type LocalFs } from "./fs";
import { lockPath, tryLock, DEFAULT_LOCK_TIMING, type HeldLock, type LockTiming } from "./locks";
import { placeOf, type Place } from "./place";

type Waiter = () => void;

/** Frees a claim (idempotent). */
export type Release = () => Promise<void>;

export interface ClaimOptions {
  fs?: LocalFs;
  signal?: AbortSignal;
  /** Lock files for other processes (default true; false for places no other process can see). */
  crossProcess?: boolean;
}

/** How long a claimant waits between looks at another process's lock. */
const POLL_MS = [50, 100, 250, 500, 1000, 2000];

export class PlaceClaims {
  private readonly held = new Map<string, Waiter[]>();
  timing: LockTiming = { ...DEFAULT_LOCK_TIMING };

  /** Whether this process holds the place of `p` now. */
  async isHeld(p: string, fs: LocalFs = nodeFs): Promise<boolean> {
    return this.held.has((await placeOf(fs, p)).key);
  }

  /** Claim the place of `p` now, or null when another claimant (here or in another process) holds it. */
  async tryClaim(p: string, opts: ClaimOptions = {}): Promise<Release | null> {
    const fs = opts.fs ?? nodeFs;
    const place = await placeOf(fs, p);
    if (this.held.has(place.key)) return null;
    this.held.set(place.key, []);
    const local = this.releaser(place.key);
    if (opts.crossProcess === false) return async () => local();
    try {
      const lock = await tryLock(fs, lockPath(place.realDir, place.name), this.timing);
      if (!lock) {
        local();
        return null;
      }
      return once(async () => {
        await lock.release();
        local();
      });
    } catch (err) {
      local();
      throw err;
    }
  }

  /**
   * Claim every path, waiting for holders to finish. In-process keys are taken in one global
   * order, so two claimants waiting for each other is impossible; lock files of other processes
   * are never waited for while holding some: all are let go and taken again.
   */
  async claim(paths: string[], opts: ClaimOptions = {}): Promise<Release> {
    const fs = opts.fs ?? nodeFs;
    const places = new Map<string, Place>();
    for (const p of paths) {
      const place = await placeOf(fs, p);
      places.set(place.key, place);
    }
    const keys = [...places.keys()].sort();
    for (let round = 0; ; round++) {
      const releases: Array<() => void> = [];
      const locks: HeldLock[] = [];
      const letGo = async () => {
        for (const l of locks) await l.release();
        for (const r of releases) r();
      };
      try {
        for (const key of keys) {
          while (this.held.has(key)) await this.waitFor(key, opts.signal);
          this.held.set(key, []);
          releases.push(this.releaser(key));
        }
        let all = true;
        if (opts.crossProcess !== false) {
          for (const key of keys) {
            const place = places.get(key)!;
            const lock = await tryLock(fs, lockPath(place.realDir, place.name), this.timing);
            if (!lock) {
              all = false;
              break;
            }
            locks.push(lock);
          }
        }
        if (all) return once(letGo);
      } catch (err) {
        await letGo();
        throw err;
      }
      // Another process holds one: let everything go so it (and our own waiters) can go on.
      await letGo();
      await abortableSleep(POLL_MS[Math.min(round, POLL_MS.length - 1)]!, opts.signal);
    }
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

function once(fn: () => Promise<void>): Release {
  let p: Promise<void> | null = null;
  return () => (p ??= fn());
}

const GLOBAL_KEY = Symbol.for("node-red-putio.local-place-claims");

/** The process-wide registry. */
export const localClaims: PlaceClaims =
  ((globalThis as Record<symbol, unknown>)[GLOBAL_KEY] as PlaceClaims | undefined) ??
  (((globalThis as Record<symbol, unknown>)[GLOBAL_KEY] = new PlaceClaims()) as PlaceClaims);
