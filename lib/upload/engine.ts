/**
 * Resumable upload of a local file with put.io's tus 1.0 endpoint (upload host, /files/).
 * The file is streamed from disk one chunk at a time (memory does not grow with its size), and its
 * CRC32 is computed from the bytes as they are sent. The upload address is kept in a small state
 * file, so a cut connection or a Node-RED restart resumes from the offset put.io reports (HEAD);
 * the part sent before is then read from disk once for the CRC. When put.io reports the file
 * (Putio-File-Id and Putio-File-Crc32 on the last PATCH) the two CRC32s must match.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import type { PutioClient } from "../client";
import { crc32, crcHex } from "../core/crc";
import { checkName } from "../core/wire";
import { PutioAbortError, PutioError, PutioInputError, PutioTransferIntegrityError } from "../core/errors";
import { t, type Text } from "../core/texts";
import { header, type RawResponse } from "../core/request";
import { backoffDelay, abortableSleep } from "../core/sleep";

export interface TusUploadOptions {
  /** Local file to upload. */
  path: string;
  /** Name on put.io (default: the local file name). */
  name?: string;
  /** Folder id; omitted → the account's default folder. */
  parentId?: number;
  /** Store a .torrent as a file instead of starting a transfer (put.io's `no-torrent` metadata). */
  noTorrent?: boolean;
  /** Bytes per PATCH (default 8 MiB); rclone uses 48 MiB. */
  chunkSize?: number;
  /** Where resume state is kept (default: the OS temp folder). */
  stateDir?: string;
  /** Retries of a failed chunk before giving up (each re-reads the offset first). */
  retries?: number;
  signal?: AbortSignal;
  onProgress?: (sent: number, total: number) => void;
}

export type TusUploadResult =
  | { kind: "file"; fileId: number; crc32: string; size: number; resumed: boolean }
  /** A .torrent became a transfer: put.io reports no file for it. */
  | { kind: "transfer"; size: number; resumed: boolean };

interface UploadState {
  location: string;
  size: number;
  mtimeMs: number;
}

const DEFAULT_CHUNK = 8 * 1024 * 1024;

function b64(s: string): string {
  return Buffer.from(s, "utf8").toString("base64");
}

/** CRC32 of the bytes [0, offset) of a file, as far as it is known. */
interface CrcAt {
  offset: number;
  crc: number;
}

/** Extend a CRC to `to` by reading the missing range from disk (after a resume or a partial chunk). */
async function crcUpTo(file: string, known: CrcAt, to: number, signal: AbortSignal): Promise<CrcAt> {
  if (known.offset === to) return known;
  // put.io went back (a lost chunk tail): start over from 0 rather than keep CRCs per offset.
  let crc = known.offset < to ? known.crc : 0;
  const from = known.offset < to ? known.offset : 0;
  try {
    if (to > from)
      for await (const chunk of fs.createReadStream(file, { start: from, end: to - 1, highWaterMark: 1024 * 1024, signal })) crc = crc32(chunk as Buffer, crc);
  } catch (err) {
    if (signal.aborted) throw new PutioAbortError(t("op.read-file", { path: file }), err);
    throw new PutioInputError(t("op.read-file", { path: file }), t("input.cannot-read-it", { detail: String((err as Error).message) }));
  }
  return { offset: to, crc };
}

export class TusUploader {
  constructor(private readonly client: PutioClient) {}

  async upload(opts: TusUploadOptions): Promise<TusUploadResult> {
    const link = this.client.transport.linkSignal(opts.signal);
    try {
      return await this.uploadLinked(opts, link.signal);
    } finally {
      link.dispose();
    }
  }

  private async uploadLinked(opts: TusUploadOptions, signal: AbortSignal): Promise<TusUploadResult> {
    const local = path.resolve(opts.path);
    const name = opts.name ?? path.basename(local);
    const attempted = t("op.upload", { name: String(name) });
    checkName(name, attempted);
    const stat = await fs.promises.stat(local).catch((err: Error) => {
      throw new PutioInputError(attempted, t("input.cannot-read", { path: local, detail: String(err.message) }));
    });
    if (!stat.isFile()) throw new PutioInputError(attempted, t("input.not-a-file", { path: local }));
    const size = stat.size;
    const chunkSize = Math.max(64 * 1024, opts.chunkSize ?? DEFAULT_CHUNK);
    const stateFile = this.stateFile(opts, local, name, size, stat.mtimeMs);

    let location: string | null = null;
    let offset = 0;
    let resumed = false;
    const saved = await readState(stateFile);
    if (saved && saved.size === size && saved.mtimeMs === stat.mtimeMs) {
      const at = await this.offsetOf(saved.location, attempted, signal);
      if (at !== null) {
        location = saved.location;
        offset = at;
        resumed = at > 0;
      }
    }
    const begin = async (): Promise<string> => {
      const created = await this.create(name, size, opts.parentId, opts.noTorrent === true, attempted, signal);
      await writeState(stateFile, { location: created, size, mtimeMs: stat.mtimeMs });
      return created;
    };
    location ??= await begin();

    let crcAt: CrcAt = { offset: 0, crc: 0 };
    let failures = 0;
    let startedOver = false;
    const retries = opts.retries ?? 5;
    /** put.io no longer knows the upload (expired, or finished while its answer was lost). */
    const gone = async (lastEnd: number): Promise<void> => {
      await fs.promises.rm(stateFile, { force: true });
      if (lastEnd === size || startedOver) {
        throw new PutioError(
          attempted,
          { status_code: 404, error_type: "UPLOAD_NOT_FOUND", error_message: "" },
          lastEnd === size ? t("hint.upload-maybe-stored") : t("hint.upload-again"),
          { detail: t("api.upload-gone") },
        );
      }
      startedOver = true;
      location = await begin();
      offset = 0;
      resumed = false;
    };
    for (;;) {
      const end = Math.min(size, offset + chunkSize);
      crcAt = await crcUpTo(local, crcAt, offset, signal);
      const sent = { ...crcAt };
      let res: RawResponse;
      try {
        res = await this.patch(location, local, offset, end, (bytes) => (sent.crc = crc32(bytes, sent.crc)), attempted, signal);
      } catch (err) {
        if (signal.aborted || err instanceof PutioAbortError) throw new PutioAbortError(attempted, err);
        if (err instanceof PutioError && err.statusCode < 500) throw err;
        // A file cut shorter (or rewritten) under the read fails every resend the same way: say so at once.
        const now = await fs.promises.stat(local).catch(() => null);
        if (!now || now.size !== size || now.mtimeMs !== stat.mtimeMs) throw new PutioInputError(attempted, t("upload.file-changed"));
        if (failures++ >= retries) throw err;
        await this.pause(failures, signal, attempted);
        // A cut connection may have delivered part of the chunk: put.io's offset says how much.
        const at = await this.offsetOf(location, attempted, signal);
        if (at === null) await gone(end);
        else offset = at;
        continue;
      }
      if (res.statusCode === 404 || res.statusCode === 410) {
        await gone(end);
        continue;
      }
      if (res.statusCode === 409) {
        // put.io has a different offset than we sent (another process, or a chunk that arrived after all).
        if (failures++ >= retries)
          throw new PutioError(attempted, { status_code: 409, error_type: "Conflict", error_message: "" }, undefined, {
            detail: t("api.upload-offset-conflicts"),
          });
        const at = await this.offsetOf(location, attempted, signal);
        if (at === null) await gone(end);
        else offset = at;
        continue;
      }
      if (res.statusCode !== 204 && res.statusCode !== 200) {
        throw new PutioError(attempted, {
          status_code: res.statusCode,
          error_type: `HTTP_${res.statusCode}`,
          error_message: res.body.toString("utf8").slice(0, 200), // put.io's own text; none: "HTTP <status>"
        });
      }
      failures = 0;
      offset = Number(header(res.headers, "upload-offset") ?? end);
      if (offset === end) crcAt = { offset: end, crc: sent.crc };
      opts.onProgress?.(offset, size);
      if (offset < size) continue;

      await fs.promises.rm(stateFile, { force: true });
      const fileId = Number(header(res.headers, "putio-file-id"));
      const remoteCrc = header(res.headers, "putio-file-crc32");
      if (!Number.isSafeInteger(fileId) || !remoteCrc) return { kind: "transfer", size, resumed };
      const localCrc = crcHex((await crcUpTo(local, crcAt, size, signal)).crc);
      if (localCrc !== remoteCrc.toLowerCase()) {
        throw new PutioTransferIntegrityError(attempted, t("upload.crc-mismatch", { id: fileId, remote: remoteCrc, local: localCrc }));
      }
      return { kind: "file", fileId, crc32: localCrc, size, resumed };
    }
  }

  private stateFile(opts: TusUploadOptions, local: string, name: string, size: number, mtimeMs: number): string {
    const dir = opts.stateDir ?? path.join(os.tmpdir(), "node-red-putio-uploads");
    const key = createHash("sha1")
      .update(`${this.client.transport.uploadUrl}|${local}|${name}|${opts.parentId ?? ""}|${size}|${mtimeMs}`)
      .digest("hex");
    return path.join(dir, `${key}.json`);
  }

  private async create(name: string, size: number, parentId: number | undefined, noTorrent: boolean, attempted: Text, signal: AbortSignal): Promise<string> {
    const meta = [
      `name ${b64(name)}`,
      ...(parentId !== undefined ? [`parent_id ${b64(String(parentId))}`] : []),
      ...(noTorrent ? [`no-torrent ${b64("true")}`] : []),
    ].join(",");
    const res = await this.client.transport.requestRaw({
      method: "POST",
      path: "/files/",
      host: "upload",
      headers: { "tus-resumable": "1.0.0", "upload-length": String(size), "upload-metadata": meta, "content-length": "0" },
      attempted,
      signal,
    });
    const location = header(res.headers, "location");
    if (res.statusCode !== 201 || !location) {
      const body = res.body.toString("utf8").slice(0, 200);
      throw new PutioError(attempted, { status_code: res.statusCode, error_type: `HTTP_${res.statusCode}`, error_message: body }, undefined, {
        detail: body ? undefined : t("api.upload-not-created"),
      });
    }
    return new URL(location, this.client.transport.uploadUrl).toString();
  }

  /** The offset put.io has for an upload, or null when it no longer knows it. */
  private async offsetOf(location: string, attempted: Text, signal: AbortSignal): Promise<number | null> {
    const res = await this.client.transport.requestRaw({
      method: "HEAD",
      path: location,
      headers: { "tus-resumable": "1.0.0" },
      attempted,
      signal,
    });
    if (res.statusCode === 404 || res.statusCode === 410) return null;
    const offset = Number(header(res.headers, "upload-offset"));
    return Number.isSafeInteger(offset) ? offset : null;
  }

  private async patch(
    location: string,
    local: string,
    start: number,
    end: number,
    seen: (bytes: Buffer) => void,
    attempted: Text,
    signal: AbortSignal,
  ): Promise<RawResponse> {
    const body = end > start ? Readable.from(fileRange(local, start, end, seen, signal), { objectMode: false }) : "";
    return this.client.transport.requestRaw({
      method: "PATCH",
      path: location,
      headers: {
        "tus-resumable": "1.0.0",
        "upload-offset": String(start),
        "content-type": "application/offset+octet-stream",
        "content-length": String(end - start),
      },
      body,
      // A streamed body cannot be replayed by the transport: this loop re-reads the offset and resends.
      idempotent: false,
      attempted,
      signal,
    });
  }

  private async pause(attempt: number, signal: AbortSignal, attempted: Text): Promise<void> {
    try {
      await abortableSleep(backoffDelay(attempt, 200, 10_000), signal);
    } catch (err) {
      throw new PutioAbortError(attempted, err);
    }
  }
}

/** The bytes [start, end) of a file, read from disk as they are sent; `seen` gets each piece (for the CRC). */
async function* fileRange(file: string, start: number, end: number, seen: (bytes: Buffer) => void, signal: AbortSignal): AsyncGenerator<Buffer> {
  for await (const piece of fs.createReadStream(file, { start, end: end - 1, highWaterMark: 256 * 1024, signal })) {
    seen(piece as Buffer);
    yield piece as Buffer;
  }
}

async function readState(file: string): Promise<UploadState | null> {
  try {
    const s = JSON.parse(await fs.promises.readFile(file, "utf8")) as UploadState;
    return typeof s.location === "string" ? s : null;
  } catch {
    return null;
  }
}

async function writeState(file: string, state: UploadState): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  await fs.promises.writeFile(file, JSON.stringify(state));
}
