/**
 * Resumable upload of a local file with put.io's tus 1.0 endpoint (upload host, /files/).
 * The file is streamed from disk one chunk at a time (memory does not grow with its size). The
 * upload address is kept in a small state file, so a cut connection or a Node-RED restart resumes
 * from the offset put.io reports (HEAD). When put.io reports the file (Putio-File-Id and
 * Putio-File-Crc32 on the last PATCH) its CRC32 is checked against the local file.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { crc32 } from "node:zlib";
import type { PutioClient } from "./client";
import { checkName } from "./domains/files";
import { PutioAbortError, PutioError, PutioInputError, PutioTransferIntegrityError } from "./errors";
import { header, type RawResponse } from "./transport";
import { backoffDelay, abortableSleep } from "./sleep";

export interface TusUploadOptions {
  /** Local file to upload. */
  path: string;
  /** Name on put.io (default: the local file name). */
  name?: string;
  /** Folder id; omitted → the account's default folder. */
  parentId?: number;
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

/** CRC32 of a whole file, streamed. */
export async function fileCrc32(file: string, signal?: AbortSignal): Promise<string> {
  let crc = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1024 * 1024, signal })) crc = crc32(chunk as Buffer, crc);
  return (crc >>> 0).toString(16).padStart(8, "0");
}

export class TusUploader {
  constructor(private readonly client: PutioClient) {}

  async upload(opts: TusUploadOptions): Promise<TusUploadResult> {
    const local = path.resolve(opts.path);
    const name = opts.name ?? path.basename(local);
    const attempted = `upload "${name}"`;
    checkName(name, attempted);
    const stat = await fs.promises.stat(local).catch((err: Error) => {
      throw new PutioInputError(attempted, `cannot read ${local}: ${err.message}`);
    });
    if (!stat.isFile()) throw new PutioInputError(attempted, `${local} is not a file`);
    const size = stat.size;
    const chunkSize = Math.max(64 * 1024, opts.chunkSize ?? DEFAULT_CHUNK);
    const stateFile = this.stateFile(opts, local, name, size, stat.mtimeMs);
    const signal = this.client.transport.linkSignal(opts.signal);

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
    if (!location) {
      location = await this.create(name, size, opts.parentId, attempted, signal);
      await writeState(stateFile, { location, size, mtimeMs: stat.mtimeMs });
    }

    let failures = 0;
    const retries = opts.retries ?? 5;
    for (;;) {
      const end = Math.min(size, offset + chunkSize);
      let res: RawResponse;
      try {
        res = await this.patch(location, local, offset, end, attempted, signal);
      } catch (err) {
        if (signal.aborted || err instanceof PutioAbortError) throw new PutioAbortError(attempted, err);
        if (err instanceof PutioError && err.statusCode < 500) throw err;
        if (failures++ >= retries) throw err;
        await this.pause(failures, signal, attempted);
        offset = (await this.offsetOf(location, attempted, signal)) ?? offset;
        continue;
      }
      if (res.statusCode === 409) {
        // put.io has a different offset than we sent (a chunk partly arrived): ask and go on from there.
        if (failures++ >= retries) throw new PutioError(attempted, { status_code: 409, error_type: "Conflict", error_message: "the upload offset keeps conflicting" });
        offset = (await this.offsetOf(location, attempted, signal)) ?? offset;
        continue;
      }
      if (res.statusCode !== 204 && res.statusCode !== 200) {
        throw new PutioError(attempted, { status_code: res.statusCode, error_type: `HTTP_${res.statusCode}`, error_message: res.body.toString("utf8").slice(0, 200) || `HTTP ${res.statusCode}` });
      }
      failures = 0;
      offset = Number(header(res.headers, "upload-offset") ?? end);
      opts.onProgress?.(offset, size);
      if (offset < size) continue;

      await fs.promises.rm(stateFile, { force: true });
      const fileId = Number(header(res.headers, "putio-file-id"));
      const remoteCrc = header(res.headers, "putio-file-crc32");
      if (!Number.isSafeInteger(fileId) || !remoteCrc) return { kind: "transfer", size, resumed };
      const localCrc = await fileCrc32(local, signal);
      if (localCrc !== remoteCrc.toLowerCase()) {
        throw new PutioTransferIntegrityError(
          attempted,
          `${attempted}: put.io stored a file (id ${fileId}) whose CRC32 ${remoteCrc} differs from the local file's ${localCrc}. Delete it on put.io and upload again.`,
        );
      }
      return { kind: "file", fileId, crc32: localCrc, size, resumed };
    }
  }

  private stateFile(opts: TusUploadOptions, local: string, name: string, size: number, mtimeMs: number): string {
    const dir = opts.stateDir ?? path.join(os.tmpdir(), "node-red-putio-uploads");
    const key = createHash("sha1").update(`${this.client.transport.uploadUrl}|${local}|${name}|${opts.parentId ?? ""}|${size}|${mtimeMs}`).digest("hex");
    return path.join(dir, `${key}.json`);
  }

  private async create(name: string, size: number, parentId: number | undefined, attempted: string, signal: AbortSignal): Promise<string> {
    const meta = [`name ${b64(name)}`, ...(parentId !== undefined ? [`parent_id ${b64(String(parentId))}`] : [])].join(",");
    const res = (await this.client.transport.request({
      method: "POST",
      path: "/files/",
      host: "upload",
      headers: { "tus-resumable": "1.0.0", "upload-length": String(size), "upload-metadata": meta, "content-length": "0" },
      raw: true,
      attempted,
      signal,
    })) as unknown as RawResponse;
    const location = header(res.headers, "location");
    if (res.statusCode !== 201 || !location) {
      throw new PutioError(attempted, { status_code: res.statusCode, error_type: `HTTP_${res.statusCode}`, error_message: res.body.toString("utf8").slice(0, 200) || "the upload could not be created" });
    }
    return new URL(location, this.client.transport.uploadUrl).toString();
  }

  /** The offset put.io has for an upload, or null when it no longer knows it. */
  private async offsetOf(location: string, attempted: string, signal: AbortSignal): Promise<number | null> {
    const res = (await this.client.transport.request({
      method: "HEAD",
      path: location,
      headers: { "tus-resumable": "1.0.0" },
      raw: true,
      attempted,
      signal,
    })) as unknown as RawResponse;
    if (res.statusCode === 404 || res.statusCode === 410) return null;
    const offset = Number(header(res.headers, "upload-offset"));
    return Number.isSafeInteger(offset) ? offset : null;
  }

  private async patch(location: string, local: string, start: number, end: number, attempted: string, signal: AbortSignal): Promise<RawResponse> {
    const body = end > start ? fs.createReadStream(local, { start, end: end - 1, highWaterMark: 256 * 1024 }) : "";
    return (await this.client.transport.request({
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
      raw: true,
      attempted,
      signal,
    })) as unknown as RawResponse;
  }

  private async pause(attempt: number, signal: AbortSignal, attempted: string): Promise<void> {
    try {
      await abortableSleep(backoffDelay(attempt, 200, 10_000), signal);
    } catch (err) {
      throw new PutioAbortError(attempted, err);
    }
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
