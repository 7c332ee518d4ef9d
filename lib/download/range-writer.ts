/**
 * The write side of a range: received bytes are hashed, batched and written at their offsets with
 * several positional writes in flight, and the range's done position only ever covers bytes that
 * are on disk.
 */
import { crc32 } from "../core/crc";
import { LocalWriteError } from "./engine-errors";
import { t } from "../core/texts";
import type { LocalFileHandle } from "../local/fs";
import type { Clock } from "../core/clock";
import type { Segment } from "./segments";

/** What the writer tells when written bytes advanced (the progress meter). */
export interface WriteProgress {
  tick(): void;
}

/** Positional writes in flight per file (libuv's pool has 4 threads), shared by its ranges. */
const WRITES_PER_FILE = 4;

/**
 * Batches of a file split into ranges: each range is one of several connections, so it fills its
 * batches at a fraction of the file's speed, and 512 KiB writes keep the disk as busy as bigger ones.
 * Bigger batches only held memory: four 4-range files at once kept 40 MiB of them.
 */
const RANGE_BATCH_MAX = 512 * 1024;

/**
 * What all ranges of one file hold at most. Adaptive connections split a file into up to 16
 * ranges: sharing the whole write buffer among them kept 10 MiB per file (4 files: ~50 MiB above
 * idle, bench P3); 4 MiB keeps 4 ranges at 512 KiB batches and gives more ranges smaller ones.
 */
const RANGED_BUFFER_MAX = 4 * 1024 * 1024;

/** Writes in flight and batch size of each of a file's `ranges`, within the file's write buffer. */
export function writePlan(ranges: number, writeBufferBytes: number): { writes: number; batchBytes: number } {
  const writes = Math.max(1, Math.ceil(WRITES_PER_FILE / ranges));
  // Each range holds at most `writes` batches being written plus the one filling.
  const budget = ranges > 1 ? Math.min(writeBufferBytes, RANGED_BUFFER_MAX) : writeBufferBytes;
  const raw = Math.floor(budget / (ranges * (writes + 1)));
  const cap = ranges > 1 ? RANGE_BATCH_MAX : 4 * 1024 * 1024;
  const batchBytes = Math.min(cap, Math.max(64 * 1024, raw - (raw % (64 * 1024))));
  return { writes, batchBytes };
}

/** A batch of received bytes and where it goes. */
interface Batch {
  buf: Buffer;
  bytes: number;
  at: number;
  /** CRC of the range from its start to this batch's end. */
  crcAfter: number;
  written: boolean;
}

/**
 * Received bytes of one range on their way to disk: hashed, copied into batch buffers and written
 * at their offsets, several positional writes in flight (the disk works while the socket is read;
 * one write at a time made every read wait for the previous write). The range's done position and
 * CRC advance only over the contiguous prefix of finished writes. `full` tells the reader to pause,
 * so memory per range stays at maxWrites + 1 batches.
 */
export class RangeWriter {
  private readonly free: Buffer[] = [];
  private fill: Buffer | null = null;
  private filled = 0;
  private fillAt = 0;
  /** When the first byte of the batch being filled arrived. */
  private fillSince = 0;
  /** The view handed out by claim() that the next socket read lands in. */
  private claimed: { buf: Buffer; offset: number } | null = null;
  /** Batch buffers a socket read may still land in (sealed early): never reused. */
  private readonly pinned = new WeakSet<Buffer>();
  /** Sealed batches in offset order: written ones at the front wait for earlier ones to finish. */
  private readonly pending: Batch[] = [];
  private writes = 0;
  private failure: unknown = null;
  /** Offset of the next byte received. */
  received: number;
  private crc: number;
  private idle: Array<() => void> = [];
  /** Called when there is room again (or a write failed). */
  onDrained: (() => void) | null = null;

  constructor(
    private readonly fh: LocalFileHandle,
    private readonly seg: Segment,
    private readonly index: number,
    private readonly crcs: number[],
    private readonly progress: WriteProgress,
    private readonly batchBytes: number,
    private readonly maxWrites: number,
    private readonly clock: Clock,
  ) {
    this.received = seg.pos;
    this.crc = crcs[index] ?? 0;
  }

  get failed(): unknown {
    return this.failure;
  }

  /** Every write slot is busy: stop reading until onDrained. */
  get full(): boolean {
    return this.pending.length >= this.maxWrites;
  }

  private startBatch(): Buffer {
    if (!this.fill) {
      this.fill = this.free.pop() ?? Buffer.allocUnsafe(this.batchBytes);
      this.filled = 0;
      this.fillAt = this.received;
    }
    return this.fill;
  }

  add(chunk: Buffer): void {
    for (let off = 0; off < chunk.length;) {
      this.startBatch();
      if (this.filled === 0) this.fillSince = this.clock.now();
      const n = chunk.copy(this.fill!, this.filled, off);
      // Hashed piece by piece, so the CRC at every batch end is known exactly.
      this.crc = crc32(chunk.subarray(off, off + n), this.crc);
      this.filled += n;
      this.received += n;
      off += n;
      if (this.filled === this.fill!.length) this.seal();
    }
  }

  /** Zero-copy path: the free part of the batch being filled, at most `limit` bytes. */
  claim(limit: number): Buffer {
    const fill = this.startBatch();
    this.claimed = { buf: fill, offset: this.filled };
    return fill.subarray(this.filled, this.filled + Math.max(1, limit));
  }

  /** `n` bytes arrived in the view `claim` returned. */
  landed(n: number): void {
    const c = this.claimed!;
    this.claimed = null;
    if (c.buf !== this.fill || c.offset !== this.filled) {
      // The batch was sealed early (sealIfOlderThan) while the read was pending: copy the bytes over.
      this.add(c.buf.subarray(c.offset, c.offset + n));
      return;
    }
    if (this.filled === 0) this.fillSince = this.clock.now();
    this.crc = crc32(c.buf.subarray(this.filled, this.filled + n), this.crc);
    this.filled += n;
    this.received += n;
    if (this.filled === c.buf.length) this.seal();
  }

  /**
   * Write a partly filled batch whose first byte came more than `ms` ago, so a slow or stalled
   * connection still gets its bytes to disk (and into the resume state) every checkpoint.
   */
  sealIfOlderThan(ms: number): void {
    if (this.fill && this.filled > 0 && this.clock.now() - this.fillSince >= ms) {
      if (this.claimed?.buf === this.fill) this.pinned.add(this.fill);
      this.seal();
    }
  }

  /** Start writing the batch being filled. */
  private seal(): void {
    if (!this.fill || this.filled === 0 || this.failure) return;
    const batch: Batch = { buf: this.fill, bytes: this.filled, at: this.fillAt, crcAfter: this.crc, written: false };
    this.fill = null;
    this.filled = 0;
    this.pending.push(batch);
    this.writes++;
    writeAll(this.fh, [batch.buf.subarray(0, batch.bytes)], batch.bytes, batch.at).then(
      () => {
        this.writes--;
        batch.written = true;
        const wasFull = this.full;
        // Only written bytes count as done, so a saved state never claims bytes that are not on disk.
        while (this.pending[0]?.written) {
          const b = this.pending.shift()!;
          this.seg.pos = b.at + b.bytes;
          this.crcs[this.index] = b.crcAfter;
          if (!this.pinned.has(b.buf)) this.free.push(b.buf);
        }
        this.progress.tick();
        if (this.writes === 0) this.wakeIdle();
        if (wasFull && !this.full) this.onDrained?.();
      },
      (err) => {
        this.writes--;
        this.failure ??= err;
        if (this.writes === 0) this.wakeIdle();
        this.onDrained?.();
      },
    );
  }

  private wakeIdle(): void {
    const waiters = this.idle;
    this.idle = [];
    for (const w of waiters) w();
  }

  /** Write everything received so far and wait for it (throws a write failure). */
  async finish(): Promise<void> {
    this.seal();
    if (this.writes > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    if (this.failure) throw this.failure;
  }
}

export async function writeAll(fh: LocalFileHandle, buffers: Buffer[], bytes: number, position: number): Promise<void> {
  try {
    const { bytesWritten } = await fh.writev(buffers, position);
    if (bytesWritten < bytes) {
      // A short write (rare): write the rest in plain writes.
      const rest = Buffer.concat(buffers).subarray(bytesWritten);
      for (let off = 0; off < rest.length;) {
        const w = await fh.write(rest, off, rest.length - off, position + bytesWritten + off);
        if (w.bytesWritten <= 0) throw Object.assign(new Error("no bytes written"), { code: "EIO" });
        off += w.bytesWritten;
      }
    }
  } catch (err) {
    throw new LocalWriteError(err as NodeJS.ErrnoException, t("what.part-file"));
  }
}
