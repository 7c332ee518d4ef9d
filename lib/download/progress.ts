/** Progress reports of one file: throttled, from the bytes on disk, with the speed since the last report. */
import { Throttle } from "./limiter";
import { doneBytes, type PartState } from "./segments";
import type { EngineContext, FileJobOptions, RemoteFile, RetryInfo } from "./types";

export class ProgressMeter {
  private readonly throttle: Throttle;
  private lastBytes: number;
  private lastAt: number;
  private retry: RetryInfo | null = null;
  constructor(
    private readonly ctx: EngineContext,
    private readonly file: RemoteFile,
    private readonly partPath: string,
    private readonly opts: FileJobOptions,
    private readonly state: PartState,
  ) {
    this.throttle = new Throttle(ctx.options.progressMs, ctx.clock);
    this.throttle.ready(); // the first report comes one interval in
    this.lastBytes = doneBytes(state);
    this.lastAt = ctx.clock.now();
  }
  tick(): void {
    // Bytes flow again: the retry is over.
    if (this.retry && doneBytes(this.state) > this.lastBytes) this.retry = null;
    if (!this.opts.onProgress || !this.throttle.ready()) return;
    this.report();
  }
  /** An attempt failed: said at once (not throttled), so a status never shows a frozen percentage. */
  retrying(info: RetryInfo): void {
    this.retry = info;
    if (this.opts.onProgress) this.report();
  }
  private report(): void {
    const bytes = doneBytes(this.state);
    const now = this.ctx.clock.now();
    const speed = now > this.lastAt ? ((bytes - this.lastBytes) * 1000) / (now - this.lastAt) : 0;
    this.lastBytes = bytes;
    this.lastAt = now;
    this.opts.onProgress!({
      fileId: this.file.id,
      name: this.file.name,
      putioPath: this.opts.putioPath,
      path: this.partPath,
      bytes,
      size: this.file.size,
      percent: this.file.size ? Math.floor((bytes / this.file.size) * 1000) / 10 : 100,
      bytesPerSecond: Math.round(speed),
      ...(this.retry ? { retrying: this.retry } : {}),
    });
  }
}
