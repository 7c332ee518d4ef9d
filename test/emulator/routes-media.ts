// Subtitles and MP4 conversion of videos.
// Subtitles: GET /v2/files/{id}/subtitles lists, in put.io's order, the sibling subtitle files of the
// video ("Movie.srt", "Movie.eng.srt": source "folder"), then subtitles seeded with addSubtitle()
// (source "mkv" or "opensubtitles"), the latter filtered by `languages` (else the account's
// subtitle_languages). GET /v2/files/{id}/subtitles/{key}?format=srt|webvtt serves one ("default"
// picks the first). Knobs subtitle404Next / subtitleEmptyNext break the next downloads.
// MP4: POST /v2/files/{id}/mp4 starts a conversion: IN_QUEUE 1 s → CONVERTING 4 s (percent_done
// grows, an `mp4_update` push {id, status, percent_done} per change) → COMPLETED {percent_done: 100,
// size}; knob mp4FailNext ends the next ones in ERROR half-way. The MP4 is then served (302 to
// storage) at /v2/files/{id}/mp4/download[/name] and /mp4/stream, and the file shows is_mp4_available.
import * as crypto from "node:crypto";
import { Content } from "./content";
import { ApiError, badRequest, notFound } from "./http-util";
import { Ctx, HANDLED, Route, route } from "./router";
import { storageUrl } from "./storage";
import type { EmulatorState, FileNode, User } from "./state";

export const MP4_QUEUE_MS = 1000;
export const MP4_CONVERT_MS = 4000;

interface SeededSubtitle {
  language: string;
  language_code: string;
  name: string;
  source: "mkv" | "opensubtitles";
  text: Buffer;
}

interface Mp4Record {
  fileId: number;
  ownerId: number;
  status: "IN_QUEUE" | "CONVERTING" | "COMPLETED" | "ERROR";
  percentDone: number;
  phaseStartedAt: number;
  willFail: boolean;
  derivedId: number | null;
}

interface MediaStore {
  subtitles: Map<number, SeededSubtitle[]>;
  mp4: Map<number, Mp4Record>;
}

const stores = new WeakMap<EmulatorState, MediaStore>();

function storeOf(state: EmulatorState): MediaStore {
  let s = stores.get(state);
  if (!s) {
    stores.set(state, (s = { subtitles: new Map(), mp4: new Map() }));
    const store = s;
    state.on("tick", () => tickMp4(state, store));
    state.fileDecorators.push((user, node, json) => {
      const rec = store.mp4.get(node.id);
      if (rec?.status === "COMPLETED" && rec.derivedId !== null) json.is_mp4_available = true;
    });
  }
  return s;
}

const LANGUAGES: Record<string, string> = {
  eng: "English",
  tur: "Turkish",
  ger: "German",
  deu: "German",
  fre: "French",
  fra: "French",
  spa: "Spanish",
  ita: "Italian",
  por: "Portuguese",
  pob: "Portuguese (BR)",
  dut: "Dutch",
  kor: "Korean",
};

/** Seeds a subtitle put.io found for a video (embedded in an MKV, or from OpenSubtitles). */
/** Replace the text of a video's subtitles in one language (put.io found a better one). */
export function setSubtitleText(state: EmulatorState, videoId: number, languageCode: string, text: string): void {
  for (const sub of storeOf(state).subtitles.get(videoId) ?? []) if (sub.language_code === languageCode) sub.text = Buffer.from(text, "utf8");
}

export function addSubtitle(
  state: EmulatorState,
  videoId: number,
  sub: { language_code: string; text: string | Buffer; language?: string; name?: string; source?: "mkv" | "opensubtitles" },
): void {
  const node = state.files.get(videoId);
  if (!node) throw new Error(`no file ${videoId}`);
  const list = storeOf(state).subtitles.get(videoId) ?? [];
  list.push({
    language: sub.language ?? LANGUAGES[sub.language_code] ?? sub.language_code,
    language_code: sub.language_code,
    name: sub.name ?? node.name.replace(/\.[^.]*$/, ""),
    source: sub.source ?? "opensubtitles",
    text: Buffer.isBuffer(sub.text) ? sub.text : Buffer.from(sub.text, "utf8"),
  });
  storeOf(state).subtitles.set(videoId, list);
}

interface ListedSubtitle {
  key: string;
  language: string;
  language_code: string;
  name: string;
  source: string;
  body: () => Buffer;
}

function keyOf(state: EmulatorState, videoId: number, what: string): string {
  return crypto.createHmac("sha256", state.signingKey).update(`sub.${videoId}.${what}`).digest("base64url").slice(0, 30);
}

function requireVideo(ctx: Ctx): FileNode {
  const node = ctx.state.requireLive(ctx.user, ctx.pathInt(1));
  if (node.isFolder) throw new ApiError(400, "NotFile", "Not a file");
  return node;
}

function subtitlesOf(ctx: Ctx, video: FileNode, languages: string[] | null): ListedSubtitle[] {
  const { state } = ctx;
  const user = ctx.user;
  if (video.fileType !== "VIDEO") return [];
  const out: ListedSubtitle[] = [];
  const stem = video.name.replace(/\.[^.]*$/, "");
  const parent = video.parentId === null ? undefined : state.liveNode(user, video.parentId);
  for (const sibling of parent ? state.childrenOf(user, parent) : []) {
    if (sibling.isFolder || !sibling.content || !sibling.name.toLowerCase().endsWith(".srt")) continue;
    const inner = sibling.name.slice(0, -4);
    if (inner !== stem && !inner.startsWith(stem + ".")) continue;
    const code = inner === stem ? "" : inner.slice(stem.length + 1).toLowerCase();
    const content = sibling.content;
    out.push({
      key: keyOf(state, video.id, `folder.${sibling.id}`),
      language: LANGUAGES[code] ?? (code || "Unknown"),
      language_code: code,
      name: sibling.name,
      source: "folder",
      body: () => content.read(),
    });
  }
  const seeded = storeOf(state).subtitles.get(video.id) ?? [];
  for (const source of ["mkv", "opensubtitles"] as const) {
    seeded.forEach((s, i) => {
      if (s.source !== source || (languages && !languages.includes(s.language_code))) return;
      out.push({ key: keyOf(state, video.id, `seed.${i}`), language: s.language, language_code: s.language_code, name: s.name, source, body: () => s.text });
    });
  }
  return out;
}

function requestedLanguages(ctx: Ctx, user: User): string[] | null {
  const param = ctx.params.str("languages");
  if (param !== undefined)
    return param
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
  const settings = user.settings.subtitle_languages;
  return Array.isArray(settings) && settings.length ? settings.map(String) : null;
}

function listSubtitles(ctx: Ctx) {
  const video = requireVideo(ctx);
  const subs = subtitlesOf(ctx, video, requestedLanguages(ctx, ctx.user));
  return {
    default: subs[0]?.key ?? null,
    subtitles: subs.map((s) => ({
      key: s.key,
      language: s.language,
      language_code: s.language_code,
      name: s.name,
      source: s.source,
      format: "srt",
      url: `${ctx.server.origin}/v2/files/${video.id}/subtitles/${s.key}?format=srt`,
    })),
  };
}

/** SRT → WebVTT: a header, and "," → "." in the cue timings. */
function toWebVtt(srt: Buffer): Buffer {
  const text = srt
    .toString("utf8")
    .replace(/^\ufeff/, "")
    .replace(/\r\n/g, "\n");
  return Buffer.from("WEBVTT\n\n" + text.replace(/(\d\d:\d\d:\d\d),(\d\d\d)/g, "$1.$2"), "utf8");
}

function downloadSubtitle(ctx: Ctx): typeof HANDLED {
  const video = requireVideo(ctx);
  let key: string;
  try {
    key = decodeURIComponent(ctx.match[2]);
  } catch {
    throw notFound("Subtitle not found");
  }
  const format = ctx.params.str("format") ?? "srt";
  if (format !== "srt" && format !== "webvtt") throw badRequest("Invalid format");
  // Every subtitle of the video can be fetched by key, whatever languages the list was asked for.
  const subs = subtitlesOf(ctx, video, null);
  const sub = key === "default" ? subtitlesOf(ctx, video, requestedLanguages(ctx, ctx.user))[0] : subs.find((s) => s.key === key);
  const { knobs } = ctx.server;
  if (!sub) throw notFound("Subtitle not found");
  if (knobs.subtitle404Next > 0) {
    knobs.subtitle404Next--;
    throw notFound("Subtitle not found");
  }
  let body = sub.body();
  if (knobs.subtitleEmptyNext > 0) {
    knobs.subtitleEmptyNext--;
    body = Buffer.alloc(0);
  }
  if (format === "webvtt" && body.length) body = toWebVtt(body);
  ctx.res.writeHead(200, {
    "Content-Type": format === "webvtt" ? "text/vtt; charset=utf-8" : "application/x-subrip; charset=utf-8",
    "Content-Length": String(body.length),
  });
  ctx.res.end(ctx.req.method === "HEAD" ? undefined : body);
  return HANDLED;
}

// ---------- MP4 ----------

function mp4Json(node: FileNode, rec: Mp4Record | undefined, state: EmulatorState) {
  if (!rec) return { id: node.id, status: "NOT_AVAILABLE" };
  switch (rec.status) {
    case "IN_QUEUE":
    case "CONVERTING":
      return { id: node.id, status: rec.status, percent_done: rec.percentDone };
    case "COMPLETED":
      return { id: node.id, status: "COMPLETED", percent_done: 100, size: state.derived.get(rec.derivedId!)?.node.content?.size ?? 0 };
    default:
      return { id: node.id, status: "ERROR" };
  }
}

function requireConvertible(ctx: Ctx): FileNode {
  const node = requireVideo(ctx);
  if (node.fileType !== "VIDEO") throw badRequest("Not a video file", "INVALID_MEDIA");
  return node;
}

function pushMp4(state: EmulatorState, rec: Mp4Record): void {
  state.push(rec.ownerId, "mp4_update", { id: rec.fileId, status: rec.status, percent_done: rec.status === "COMPLETED" ? 100 : rec.percentDone });
}

function tickMp4(state: EmulatorState, store: MediaStore): void {
  const now = state.now();
  for (const rec of store.mp4.values()) {
    for (let guard = 0; guard < 5; guard++) {
      const elapsed = now - rec.phaseStartedAt;
      if (rec.status === "IN_QUEUE") {
        if (elapsed < MP4_QUEUE_MS) break;
        rec.status = "CONVERTING";
        rec.phaseStartedAt += MP4_QUEUE_MS;
        pushMp4(state, rec);
      } else if (rec.status === "CONVERTING") {
        if (rec.willFail && elapsed >= MP4_CONVERT_MS / 2) {
          rec.percentDone = 50;
          rec.status = "ERROR";
          pushMp4(state, rec);
        } else if (elapsed >= MP4_CONVERT_MS) {
          const user = state.users.get(rec.ownerId)!;
          const source = state.liveNode(user, rec.fileId);
          if (!source?.content) {
            rec.status = "ERROR";
          } else {
            // The converted copy: about 90 % of the source, deterministic bytes.
            const size = Math.floor(source.content.size * 0.9);
            const name = source.name.replace(/\.[^.]*$/, "") + ".mp4";
            rec.derivedId = state.addDerivedNode(user, source, name, Content.from({ size, seed: source.id * 31 + 7 }, 0)).id;
            rec.percentDone = 100;
            rec.status = "COMPLETED";
          }
          pushMp4(state, rec);
        } else {
          const pct = Math.floor((elapsed / MP4_CONVERT_MS) * 100);
          if (pct !== rec.percentDone) {
            rec.percentDone = pct;
            pushMp4(state, rec);
          }
        }
        break;
      } else break;
    }
  }
}

function startMp4(ctx: Ctx) {
  const node = requireConvertible(ctx);
  const { state } = ctx;
  const store = storeOf(state);
  const existing = store.mp4.get(node.id);
  // A running or finished conversion is answered as it is; a failed one starts over.
  if (existing && existing.status !== "ERROR") return { mp4: mp4Json(node, existing, state) };
  const willFail = state.knobs.mp4FailNext > 0;
  if (willFail) state.knobs.mp4FailNext--;
  const rec: Mp4Record = { fileId: node.id, ownerId: ctx.user.id, status: "IN_QUEUE", percentDone: 0, phaseStartedAt: state.now(), willFail, derivedId: null };
  store.mp4.set(node.id, rec);
  pushMp4(state, rec);
  return { mp4: mp4Json(node, rec, state) };
}

function mp4Node(ctx: Ctx): FileNode {
  const node = requireConvertible(ctx);
  const rec = storeOf(ctx.state).mp4.get(node.id);
  const derived = rec?.status === "COMPLETED" && rec.derivedId !== null ? ctx.state.derivedNode(ctx.user, rec.derivedId) : undefined;
  if (!derived) throw badRequest("MP4 not found", "MP4_NOT_FOUND");
  return derived;
}

function redirectToMp4(ctx: Ctx): typeof HANDLED {
  const location = storageUrl(ctx.server, ctx.user, mp4Node(ctx));
  ctx.res.writeHead(302, { Location: location, "Content-Length": "0" });
  ctx.res.end();
  return HANDLED;
}

export const mediaRoutes: Route[] = [
  route("GET", "/v2/files/{id}/subtitles", listSubtitles),
  route("GET", "/v2/files/{id}/subtitles/{key}", downloadSubtitle),
  route("GET", "/v2/files/{id}/mp4", (ctx) => {
    const node = requireConvertible(ctx);
    return { mp4: mp4Json(node, storeOf(ctx.state).mp4.get(node.id), ctx.state) };
  }),
  route("POST", "/v2/files/{id}/mp4", startMp4),
  route("DELETE", "/v2/files/{id}/mp4", (ctx) => {
    const node = requireConvertible(ctx);
    const store = storeOf(ctx.state);
    const rec = store.mp4.get(node.id);
    if (rec?.derivedId != null) ctx.state.derived.delete(rec.derivedId);
    store.mp4.delete(node.id);
    return {};
  }),
  route("GET", "/v2/files/{id}/mp4/download", redirectToMp4),
  route("GET", "/v2/files/{id}/mp4/download/{key}", redirectToMp4),
  route("GET", "/v2/files/{id}/mp4/stream", redirectToMp4),
  route("GET", "/v2/mp4/queue", (ctx) => {
    const { state } = ctx;
    const user = ctx.user;
    const mp4s = [...storeOf(state).mp4.values()]
      .filter((r) => r.ownerId === user.id && (r.status === "IN_QUEUE" || r.status === "CONVERTING"))
      .map((r) => ({ ...mp4Json(state.files.get(r.fileId)!, r, state), name: state.files.get(r.fileId)!.name }));
    return { mp4s };
  }),
];
