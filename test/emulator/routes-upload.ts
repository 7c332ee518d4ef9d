// Uploads: multipart POST /v2/files/upload and resumable tus 1.0 at /files/.
import * as crypto from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Content, looksLikeTorrent, torrentName } from "./content";
import { ApiError, badRequest, notFound, readRaw, sendError, unauthorized } from "./http-util";
import { Ctx, Route, route, ServerInfo } from "./router";
import type { FileNode, TokenRecord, User } from "./state";
import { recordEvent } from "./routes-events";

/** Destination of an upload: parent_id, or the user's default folder when omitted/negative (go-putio). */
function uploadParent(server: ServerInfo, user: User, parentId: number | undefined): FileNode {
  const id = parentId === undefined || parentId < 0 ? (user.settings.default_download_folder as number) : parentId;
  return server.state.requireFolder(user, id);
}

/** A .torrent upload becomes a transfer instead of a file. */
function torrentToTransfer(server: ServerInfo, user: User, parent: FileNode, filename: string, data: Buffer, callbackUrl?: string) {
  const { state } = server;
  const name = torrentName(data) ?? filename.replace(/\.torrent$/i, "");
  const hash = crypto.createHash("sha1").update(data).digest("hex");
  const t = state.newTransfer(user, {
    url: `magnet:?xt=urn:btih:${hash}&dn=${encodeURIComponent(name)}`,
    name,
    saveParentId: parent.id,
    callbackUrl,
  });
  const json = state.transferJson(t);
  state.push(user.id, "transfer_create", json);
  state.push(user.id, "transfers_count", state.userTransfers(user).length);
  return json;
}

function storeFile(server: ServerInfo, user: User, parent: FileNode, name: string, data: Buffer, overwrite: boolean): FileNode {
  const { state } = server;
  const existing = overwrite ? state.childrenOf(user, parent).find((c) => c.name === name && !c.isFolder) : undefined;
  if (existing) {
    state.replaceFileContent(existing.id, data);
    return existing;
  }
  // Duplicate names are allowed for uploads.
  return state.createNode(user, parent, name, Content.from(data, 0));
}

function multipartUpload(ctx: Ctx) {
  const { params, server, state } = ctx;
  const user = ctx.user;
  const part = ctx.files.file;
  if (!part) throw badRequest("Missing required parameter: file");
  const name = state.validateName(params.str("filename") || part.filename);
  const parent = uploadParent(server, user, params.int("parent_id"));
  if (looksLikeTorrent(name, part.data)) {
    // putiopy issue #14 (2016) saw {transfer} without status; the current SDKs expect status "OK", which we send.
    return { transfer: torrentToTransfer(server, user, parent, name, part.data, params.str("callback_url")) };
  }
  const file = state.fileJson(user, storeFile(server, user, parent, name, part.data, false));
  recordEvent(state, user.id, "upload", { file_id: file.id, file_name: file.name, file_size: file.size });
  return { file };
}

export const uploadRoutes: Route[] = [
  route("POST", "/v2/files/upload", multipartUpload),
  // go-putio posts the multipart body to the bare upload host.
  route("POST", "/", multipartUpload),
];

// ---------- tus ----------

interface TusUpload {
  id: string;
  userId: number;
  length: number;
  offset: number;
  chunks: Buffer[];
  meta: Record<string, string>;
}

const uploadsByServer = new WeakMap<ServerInfo, Map<string, TusUpload>>();

function parseMetadata(header: string | undefined): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const pair of (header ?? "").split(",")) {
    const [key, value] = pair.trim().split(/\s+/);
    if (!key) continue;
    meta[key] = value === undefined ? "" : Buffer.from(value, "base64").toString("utf8");
  }
  return meta;
}

function tusReply(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Tus-Resumable": "1.0.0", "Cache-Control": "no-store", ...headers });
  res.end();
}

/** Handles /files/ and /files/<id>. Errors use the API envelope; clients should branch on status codes only. */
export async function handleTus(req: IncomingMessage, res: ServerResponse, server: ServerInfo, url: URL, tokenRecord: TokenRecord | undefined): Promise<void> {
  const uploads = uploadsByServer.get(server) ?? new Map<string, TusUpload>();
  uploadsByServer.set(server, uploads);
  try {
    if (req.method === "OPTIONS") {
      return tusReply(res, 204, { "Tus-Version": "1.0.0", "Tus-Extension": "creation,termination" });
    }
    const user = tokenRecord && server.state.users.get(tokenRecord.userId);
    if (!user) throw unauthorized();
    const id = /^\/files\/([^/]+)\/?$/.exec(url.pathname)?.[1];
    if (!id) {
      if (req.method !== "POST") throw new ApiError(405, "MethodNotAllowed", "Method not allowed");
      await readRaw(req);
      const lengthHeader = req.headers["upload-length"];
      if (typeof lengthHeader !== "string" || !/^\d+$/.test(lengthHeader)) throw badRequest("Missing or invalid Upload-Length");
      const meta = parseMetadata(req.headers["upload-metadata"] as string | undefined);
      server.state.validateName(meta.name);
      uploadParent(server, user, meta.parent_id === undefined ? undefined : Number(meta.parent_id));
      const upload: TusUpload = {
        id: crypto.randomBytes(16).toString("hex"),
        userId: user.id,
        length: Number(lengthHeader),
        offset: 0,
        chunks: [],
        meta,
      };
      uploads.set(upload.id, upload);
      return tusReply(res, 201, { Location: `${server.origin}/files/${upload.id}` });
    }
    const upload = uploads.get(id);
    if (!upload || upload.userId !== user.id) throw notFound("Upload not found");
    if (req.method === "HEAD") {
      return tusReply(res, 200, { "Upload-Offset": String(upload.offset), "Upload-Length": String(upload.length) });
    }
    if (req.method === "DELETE") {
      uploads.delete(id);
      return tusReply(res, 204);
    }
    if (req.method !== "PATCH") throw new ApiError(405, "MethodNotAllowed", "Method not allowed");
    if (req.headers["content-type"] !== "application/offset+octet-stream") {
      await readRaw(req);
      throw new ApiError(415, "UnsupportedMediaType", "Content-Type must be application/offset+octet-stream");
    }
    const body = await readRaw(req);
    if (Number(req.headers["upload-offset"]) !== upload.offset || !/^\d+$/.test(String(req.headers["upload-offset"]))) {
      // rclone re-reads the offset with HEAD after a 409.
      throw new ApiError(409, "Conflict", "Upload-Offset does not match the current offset");
    }
    if (upload.offset + body.length > upload.length) throw badRequest("Body exceeds Upload-Length");
    if (server.knobs.cutTusPatchNext > 0 && body.length > 1) {
      // A tus server keeps what arrived before a connection dropped; the client must HEAD to learn it.
      server.knobs.cutTusPatchNext--;
      const kept = body.subarray(0, Math.floor(body.length / 2));
      upload.chunks.push(kept);
      upload.offset += kept.length;
      req.socket.destroy();
      return;
    }
    upload.chunks.push(body);
    upload.offset += body.length;
    const headers: Record<string, string> = { "Upload-Offset": String(upload.offset) };
    if (upload.offset === upload.length) {
      uploads.delete(id);
      const data = Buffer.concat(upload.chunks);
      const parent = uploadParent(server, user, upload.meta.parent_id === undefined ? undefined : Number(upload.meta.parent_id));
      const name = upload.meta.name;
      if (upload.meta["no-torrent"] !== "true" && looksLikeTorrent(name, data)) {
        torrentToTransfer(server, user, parent, name, data);
      } else {
        const node = storeFile(server, user, parent, name, data, upload.meta.overwrite === "true");
        // File id and CRC32 arrive in headers of the final PATCH.
        headers["Putio-File-Id"] = String(node.id);
        headers["Putio-File-Crc32"] = node.content!.crc32();
      }
    }
    return tusReply(res, 204, headers);
  } catch (e) {
    if (e instanceof ApiError) return sendError(res, e, { "Tus-Resumable": "1.0.0" });
    throw e;
  }
}
