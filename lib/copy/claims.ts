/**
 * What live copy jobs work on, per target account and process-wide: put.io answers the same
 * transfer to an add of the same URL (core/quirks.ts), so two jobs must know whose a transfer is;
 * and one source file goes into one target folder by one job at a time.
 */
import type { PutioClient } from "../client";

/** A transfer (or a copy) a live copy job works on. */
export interface Claim {
  job: symbol;
  /** Settles when that job is done with it. */
  done: Promise<void>;
  release: () => void;
}

const claimsByTarget = new WeakMap<PutioClient, Map<number, Claim>>();
/** The transfers live jobs work on, per target account, by transfer id. */
export function claimsOn(to: PutioClient): Map<number, Claim> {
  let m = claimsByTarget.get(to);
  if (!m) claimsByTarget.set(to, (m = new Map()));
  return m;
}

const copiesByTarget = new WeakMap<PutioClient, Map<string, Claim>>();
/** The copies live jobs work on, per target account, by "source file id>target folder id". */
export function copiesOn(to: PutioClient): Map<string, Claim> {
  let m = copiesByTarget.get(to);
  if (!m) copiesByTarget.set(to, (m = new Map()));
  return m;
}

/** Resolves when `p` settles; rejects with the abort when the signal fires first. */
export function untilSettled(p: Promise<unknown>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    void p.then(
      () => (signal.removeEventListener("abort", onAbort), resolve()),
      () => (signal.removeEventListener("abort", onAbort), resolve()),
    );
  });
}
