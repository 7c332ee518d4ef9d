/** Time as every limiter, queue and engine sees it: injectable, so tests never depend on the wall clock. */
import { abortableSleep } from "./sleep";

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const wallClock: Clock = { now: () => Date.now(), sleep: abortableSleep };
