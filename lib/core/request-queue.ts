/**
 * One queue per put.io token: every node of an account shares it, so together they never exceed
 * the configured concurrency and all of them pause when put.io's rate-limit window is used up.
 */
import { wallClock, type Clock } from "./clock";
import { Semaphore } from "./semaphore";

export class RequestQueue {
  private readonly slots: Semaphore;
  /** Epoch ms before which nothing is sent (a 429 or `x-ratelimit-remaining: 0` was seen). */
  private holdUntil = 0;
  private users = 0;

  constructor(
    concurrency: number,
    private readonly clock: Clock = wallClock,
  ) {
    this.slots = new Semaphore(concurrency);
  }

  get concurrency(): number {
    return this.slots.limit;
  }

  set concurrency(n: number) {
    this.slots.setLimit(n);
  }

  /** Hold every request of this token until `epochMs` (only ever extends the hold). */
  holdUntilTime(epochMs: number): void {
    if (epochMs > this.holdUntil) this.holdUntil = epochMs;
  }

  get heldUntil(): number {
    return this.holdUntil;
  }

  /** Run `task` when a slot is free and no rate-limit hold is in force. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.slots.acquire(signal);
    try {
      await this.waitForHold(signal);
      return await task();
    } finally {
      release();
    }
  }

  /** Wait out a hold; re-checks because a hold may be extended while we sleep. */
  async waitForHold(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = this.holdUntil - this.clock.now();
      if (wait <= 0) return;
      await this.clock.sleep(wait, signal);
    }
  }

  /** Reference counting for the shared registry below. */
  retain(): this {
    this.users++;
    return this;
  }
  releaseUser(): number {
    return --this.users;
  }
}

const queues = new Map<string, RequestQueue>();

/** The shared queue of a token at an API address (two account nodes with one token share it). */
export function queueFor(key: string, concurrency: number, clock?: Clock): RequestQueue {
  let q = queues.get(key);
  if (!q) {
    q = new RequestQueue(concurrency, clock);
    queues.set(key, q);
  } else if (concurrency < q.concurrency) {
    q.concurrency = concurrency; // the strictest configuration of the sharers wins
  }
  return q.retain();
}

export function releaseQueue(key: string, q: RequestQueue): void {
  if (q.releaseUser() <= 0 && queues.get(key) === q) queues.delete(key);
}
