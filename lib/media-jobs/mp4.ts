/**
 * Convert a video to MP4 on put.io and wait until it is ready: started unless it runs or is done
 * already, followed by polling with backoff, cut short by the `mp4_update` push when a socket is given.
 */
import { MP4_STATUS } from "../core/quirks";
import { t } from "../core/texts";
import { checkId } from "../core/wire";
import type { PutioSocket, SocketEvent } from "../core/socket";
import type { PutioMp4Status } from "../domains/media";
import type { PutioClient } from "../client";
import { PutioMp4Error } from "./errors";
import { duration, pollUntil } from "./poll";

export interface Mp4Options {
  signal?: AbortSignal;
  /** The account's socket: its `mp4_update` pushes wake the wait at once. */
  socket?: PutioSocket;
  /** Called when the status or percentage changes. */
  onStatus?: (s: { status: string; percentDone: number | null }) => void;
  pollMs?: number;
  maxPollMs?: number;
  /** Give up after this long (default 6 h): a PutioMp4Error of kind "timeout". */
  timeoutMs?: number;
}

export interface Mp4Result {
  fileId: number;
  status: "COMPLETED";
  /** Bytes of the MP4 version. */
  size: number;
  /** True when this call started the conversion (false: it ran or was done already). */
  started: boolean;
}

const DEFAULT_TIMEOUT_MS = 6 * 3600_000;

/** Converts (or finds converted) and resolves when the MP4 is COMPLETED; ERROR is a PutioMp4Error. */
export async function convertToMp4AndWait(client: PutioClient, fileId: number, opts: Mp4Options = {}): Promise<Mp4Result> {
  const attempted = t("op.convert-mp4", { id: fileId });
  const id = checkId(fileId, attempted);
  const { signal } = opts;
  let last = "";
  const report = (s: PutioMp4Status) => {
    const percent = s.percent_done ?? null;
    const mark = `${s.status}/${percent}`;
    if (mark !== last) opts.onStatus?.({ status: s.status, percentDone: percent });
    last = mark;
  };
  let status = await client.media.mp4Status(id, signal);
  let started = false;
  // Not there yet, or failed before: (re)start. A running or finished one is left as it is.
  if (status.status === MP4_STATUS.none || status.status === MP4_STATUS.failed) {
    status = await client.media.convertMp4(id, signal);
    started = true;
  }
  report(status);
  let first = true;
  const check = async (): Promise<Mp4Result | undefined> => {
    if (!first) {
      status = await client.media.mp4Status(id, signal);
      report(status);
    }
    first = false;
    if (status.status === MP4_STATUS.done) return { fileId: id, status: "COMPLETED", size: status.size ?? 0, started };
    if (status.status === MP4_STATUS.failed) throw new PutioMp4Error(t("convert.failed", { id }), { kind: "failed", fileId: id, status: "ERROR" });
    if (status.status === MP4_STATUS.none) throw new PutioMp4Error(t("convert.vanished", { id }), { kind: "vanished", fileId: id, status: "NOT_AVAILABLE" });
    return undefined;
  };
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return pollUntil(
    attempted,
    check,
    () => new PutioMp4Error(t("convert.timeout", { id, duration: duration(timeoutMs) }), { kind: "timeout", fileId: id, status: status.status }),
    {
      signal,
      socket: opts.socket,
      wakeOn: (e: SocketEvent) => e.type === "mp4_update" && (e.value as { id?: unknown } | null)?.id === id,
      pollMs: opts.pollMs,
      maxPollMs: opts.maxPollMs,
      timeoutMs,
    },
  );
}

/** The MP4 version of a video, when put.io has one ready: for "prefer the MP4 version" downloads. */
export interface Mp4Version {
  fileId: number;
  /** The video's name with ".mp4" for its extension. */
  name: string;
  size: number;
  /** A fresh storage address each call (they expire); put.io gives no CRC32 for it: verify by size. */
  url: (signal?: AbortSignal) => Promise<string>;
}

/** The ready MP4 version of `video`, or null (not converted, converting, failed, or not a video). */
export async function mp4VersionOf(
  client: PutioClient,
  video: { id: number; name: string; file_type?: string },
  signal?: AbortSignal,
): Promise<Mp4Version | null> {
  const id = checkId(video?.id, t("op.find-mp4-version"));
  if (video.file_type !== undefined && video.file_type !== "VIDEO") return null;
  const status = await client.media.mp4Status(id, signal);
  if (status.status !== MP4_STATUS.done) return null;
  const stem = typeof video.name === "string" ? video.name.replace(/\.[^.]*$/, "") : String(id);
  return { fileId: id, name: `${stem}.mp4`, size: status.size ?? 0, url: (s) => client.media.mp4Url(id, s ?? signal) };
}
