import { setMaxListeners } from "node:events";

/** A signal that follows its parents until `dispose()`, which takes its listeners off them. */
export interface SignalLink {
  readonly signal: AbortSignal;
  /** Stop following the parents (idempotent). Call it on every path once the work is done. */
  dispose(): void;
}

const NOTHING_TO_DISPOSE = () => {};

/**
 * A short-lived signal that fires when any of `parents` fires (with that parent's reason).
 *
 * Not `AbortSignal.any`: every call of it with a long-lived signal (a client's or a scheduler's
 * `closing`) adds an entry to that signal's set of dependants, which Node 20 never removes (Node 22
 * still keeps some bytes per call), so a process running for months grows with each request and job.
 * Here the link is one `abort` listener per parent, removed by `dispose()` or when the link fires.
 * One parent (or none) is returned as is, with nothing to dispose.
 */
export function linkSignals(...parents: (AbortSignal | null | undefined)[]): SignalLink {
  const live = parents.filter((s, i): s is AbortSignal => !!s && parents.indexOf(s) === i);
  const fired = live.find((s) => s.aborted);
  if (fired) return { signal: AbortSignal.abort(fired.reason), dispose: NOTHING_TO_DISPOSE };
  if (live.length === 0) return { signal: new AbortController().signal, dispose: NOTHING_TO_DISPOSE };
  if (live.length === 1) return { signal: live[0]!, dispose: NOTHING_TO_DISPOSE };
  const ac = new AbortController();
  let disposed = false;
  const listeners = live.map((parent) => {
    const onAbort = () => {
      dispose();
      ac.abort(parent.reason);
    };
    // Links come and go with the work they serve: many at once on one parent is normal, not a leak.
    // (Unconditionally: Node 20's getMaxListeners throws on a signal whose limit is 0.)
    setMaxListeners(0, parent);
    parent.addEventListener("abort", onAbort, { once: true });
    return { parent, onAbort };
  });
  function dispose(): void {
    if (disposed) return;
    disposed = true;
    for (const { parent, onAbort } of listeners) parent.removeEventListener("abort", onAbort);
  }
  return { signal: ac.signal, dispose };
}
