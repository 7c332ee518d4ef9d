/**
 * Waiting on put.io: check, then sleep with jittered exponential backoff (core/sleep.ts) until the
 * check gives an answer; a socket push the caller recognises cuts the sleep short, and a reconnect
 * does too (pushes may have been missed while it was down).
 */
import { PutioAbortError } from "../core/errors";
import { linkSignals } from "../core/signals";
import { abortableSleep, backoffDelay } from "../core/sleep";
import type { PutioSocket, SocketEvent } from "../core/socket";
import { t, type Text, type TextOrString } from "../core/texts";

export interface PollOptions {
  signal?: AbortSignal;
  /** First delay; grows up to maxPollMs. */
  pollMs?: number;
  maxPollMs?: number;
  /** Give up after this long (wall time); `onTimeout` makes the error. */
  timeoutMs?: number;
  socket?: PutioSocket;
  /** Which pushes mean "check now". */
  wakeOn?: (e: SocketEvent) => boolean;
  random?: () => number;
}

export async function pollUntil<T>(attempted: TextOrString, check: () => Promise<T | undefined>, onTimeout: () => Error, opts: PollOptions = {}): Promise<T> {
  const pollMs = Math.max(1, opts.pollMs ?? 2000);
  const maxPollMs = Math.max(pollMs, opts.maxPollMs ?? 30_000);
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  let nudged = false;
  let wake: (() => void) | null = null;
  const nudge = () => {
    nudged = true;
    wake?.();
  };
  const onEvent = (e: SocketEvent) => {
    if (opts.wakeOn?.(e)) nudge();
  };
  // Listen before the first check, so a push that lands in between is not lost.
  opts.socket?.on("event", onEvent);
  opts.socket?.on("open", nudge);
  try {
    for (let attempt = 0; ; attempt++) {
      if (opts.signal?.aborted) throw new PutioAbortError(attempted, opts.signal.reason);
      nudged = false;
      const answer = await check();
      if (answer !== undefined) return answer;
      if (Date.now() >= deadline) throw onTimeout();
      if (nudged) continue;
      const delay = Math.min(backoffDelay(attempt, pollMs, maxPollMs, opts.random), Math.max(1, deadline - Date.now()));
      const woken = new AbortController();
      wake = () => woken.abort();
      const nap = linkSignals(opts.signal, woken.signal);
      try {
        await abortableSleep(delay, nap.signal);
      } catch (err) {
        if (opts.signal?.aborted) throw new PutioAbortError(attempted, opts.signal.reason);
        if (!woken.signal.aborted) throw err;
      } finally {
        nap.dispose();
        wake = null;
      }
    }
  } finally {
    opts.socket?.off("event", onEvent);
    opts.socket?.off("open", nudge);
  }
}

/** A wait's length for a message: "45 s", "12 min", "6 h" (in English). */
export function duration(ms: number): Text {
  if (ms < 120_000) return t("duration.seconds", { n: Math.max(0, Math.round(ms / 1000)) });
  if (ms < 2 * 3600_000) return t("duration.minutes", { n: Math.round(ms / 60_000) });
  return t("duration.hours", { n: Math.round(ms / 3600_000) });
}
