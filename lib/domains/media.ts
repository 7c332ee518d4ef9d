/**
 * Media domain: a video's subtitles (listed per language, fetched by key as SRT or WebVTT) and its
 * MP4 version (status, start a conversion, remove it, the storage address of the converted file).
 */
import { PutioError, PutioInputError, PutioSchemaError } from "../core/errors";
import { describeValue } from "../core/describe";
import { validator, type FromSchema } from "../core/schema";
import { t, type TextOrString } from "../core/texts";
import { header, type RawResponse } from "../core/request";
import type { Transport } from "../core/transport";
import { checkId } from "../core/wire";

const subtitleSchema = {
  type: "object",
  properties: {
    key: { type: "string" },
    language: { type: "string", nullable: true },
    // Absent from some answers seen (2020); current ones carry it (three letters: "eng").
    language_code: { type: "string", nullable: true },
    name: { type: "string", nullable: true },
    source: { type: "string", nullable: true },
    format: { type: "string", nullable: true },
    url: { type: "string", nullable: true },
  },
  required: ["key"],
} as const;
export type PutioSubtitle = FromSchema<typeof subtitleSchema>;

const subtitleListSchema = {
  type: "object",
  properties: {
    default: { type: "string", nullable: true },
    subtitles: { type: "array", items: subtitleSchema },
  },
  required: ["subtitles"],
} as const;
export type PutioSubtitleList = FromSchema<typeof subtitleListSchema>;
const checkSubtitleList = validator(subtitleListSchema);

const mp4Schema = {
  type: "object",
  properties: {
    id: { type: "integer" },
    // NOT_AVAILABLE, IN_QUEUE, CONVERTING, COMPLETED, ERROR (lib/core/quirks.ts)
    status: { type: "string" },
    percent_done: { type: "number", nullable: true },
    size: { type: "number", nullable: true },
  },
  required: ["status"],
} as const;
export type PutioMp4Status = FromSchema<typeof mp4Schema>;
const checkMp4 = validator({ type: "object", properties: { mp4: mp4Schema }, required: ["mp4"] });

export type SubtitleFormat = "srt" | "webvtt";

/**
 * A subtitle language code as put.io takes it ("eng", "tur", "pob"; two letters and a region are
 * accepted too): lower-cased, or a PutioInputError. The code becomes part of a local file name
 * (`Movie.eng.srt`), so nothing but letters and one hyphen gets through.
 */
export function checkLanguageCode(code: unknown, attempted: TextOrString): string {
  const s = typeof code === "string" ? code.trim().toLowerCase() : "";
  if (!/^[a-z]{2,3}(-[a-z0-9]{2,4})?$/.test(s)) throw new PutioInputError(attempted, t("input.not-a-language", { value: describeValue(code) }));
  return s;
}

/** Languages as a list or comma-separated text, checked, in order, without repeats. */
export function checkLanguages(languages: unknown, attempted: TextOrString): string[] {
  const items = typeof languages === "string" ? languages.split(",").filter((s) => s.trim() !== "") : languages;
  if (!Array.isArray(items)) throw new PutioInputError(attempted, t("input.not-a-language-list", { value: describeValue(languages) }));
  return [...new Set(items.map((c) => checkLanguageCode(c, attempted)))];
}

/** Subtitle keys go into the URL path: only what put.io's keys are made of, never "." or "..". */
function checkSubtitleKey(key: unknown, attempted: TextOrString): string {
  if (typeof key !== "string" || !/^[A-Za-z0-9._~-]{1,256}$/.test(key) || key === "." || key === "..")
    throw new PutioInputError(attempted, t("input.not-a-subtitle-key", { value: describeValue(key) }));
  return key;
}

const MAX_REDIRECTS = 3;

/** The error envelope of a raw answer, as the transport would have built it. */
function errorOf(attempted: TextOrString, res: RawResponse): PutioError {
  let type = `HTTP_${res.statusCode}`;
  // None from put.io: PutioError says "HTTP <status>" (api.http-status) itself.
  let message = "";
  try {
    const body = JSON.parse(res.body.toString("utf8")) as { error_type?: unknown; error_message?: unknown };
    if (typeof body.error_type === "string") type = body.error_type;
    if (typeof body.error_message === "string") message = body.error_message;
  } catch {
    /* not JSON */
  }
  return new PutioError(attempted, { status_code: res.statusCode, error_type: type, error_message: message });
}

export class MediaApi {
  constructor(private readonly t: Transport) {}

  /** The subtitles put.io has for a video, for these languages (none given: the account's). */
  async subtitles(fileId: number, opts: { languages?: string[] | string; signal?: AbortSignal } = {}): Promise<PutioSubtitleList> {
    const attempted = t("op.list-subtitles", { id: fileId });
    checkId(fileId, attempted);
    const languages = opts.languages === undefined ? undefined : checkLanguages(opts.languages, attempted);
    return this.t.request({
      method: "GET",
      path: `/v2/files/${fileId}/subtitles`,
      query: { languages: languages?.length ? languages : undefined },
      schema: checkSubtitleList,
      attempted,
      signal: opts.signal,
    });
  }

  /** One subtitle's bytes, as put.io serves them (`key` from subtitles(), or "default"). */
  async subtitle(fileId: number, key: string, opts: { format?: SubtitleFormat; signal?: AbortSignal } = {}): Promise<Buffer> {
    const attempted = t("op.download-subtitle", { key: describeValue(key), id: fileId });
    checkId(fileId, attempted);
    checkSubtitleKey(key, attempted);
    const format = opts.format ?? "srt";
    if (format !== "srt" && format !== "webvtt") throw new PutioInputError(attempted, t("input.not-a-subtitle-format", { value: describeValue(format) }));
    let res = await this.t.requestRaw({ method: "GET", path: `/v2/files/${fileId}/subtitles/${key}`, query: { format }, attempted, signal: opts.signal });
    // put.io may redirect to where the subtitle is stored; that host gets no token.
    for (let hop = 0; res.statusCode >= 300 && res.statusCode < 400; hop++) {
      const location = header(res.headers, "location");
      if (!location || hop >= MAX_REDIRECTS) throw errorOf(attempted, res);
      const next = new URL(location, this.t.apiUrl);
      if (next.protocol !== "https:" && next.protocol !== "http:") throw errorOf(attempted, res);
      res = await this.t.requestRaw({ method: "GET", path: next.href, auth: false, attempted, signal: opts.signal });
    }
    if (res.statusCode !== 200) throw errorOf(attempted, res);
    return res.body;
  }

  /** The MP4 version's state: NOT_AVAILABLE, IN_QUEUE, CONVERTING, COMPLETED (with size) or ERROR. */
  async mp4Status(fileId: number, signal?: AbortSignal): Promise<PutioMp4Status> {
    const attempted = t("op.get-mp4-status", { id: fileId });
    checkId(fileId, attempted);
    return (await this.t.request({ method: "GET", path: `/v2/files/${fileId}/mp4`, schema: checkMp4, attempted, signal })).mp4;
  }

  /** Starts the conversion; a running or finished one is answered as it is, so a repeat is harmless. */
  async convertMp4(fileId: number, signal?: AbortSignal): Promise<PutioMp4Status> {
    const attempted = t("op.convert-mp4", { id: fileId });
    checkId(fileId, attempted);
    return (await this.t.request({ method: "POST", path: `/v2/files/${fileId}/mp4`, schema: checkMp4, attempted, idempotent: true, signal })).mp4;
  }

  /** Removes the MP4 version (the original stays). */
  async deleteMp4(fileId: number, signal?: AbortSignal): Promise<void> {
    const attempted = t("op.delete-mp4", { id: fileId });
    checkId(fileId, attempted);
    // An empty 200 has been seen as well as {status: "OK"}: the status decides.
    const res = await this.t.requestRaw({ method: "DELETE", path: `/v2/files/${fileId}/mp4`, attempted, signal });
    if (res.statusCode >= 400) throw errorOf(attempted, res);
  }

  /** A storage address of the converted MP4 (supports Range; it expires like every storage URL). */
  async mp4Url(fileId: number, signal?: AbortSignal): Promise<string> {
    const attempted = t("op.get-mp4-url", { id: fileId });
    checkId(fileId, attempted);
    const res = await this.t.requestRaw({ method: "GET", path: `/v2/files/${fileId}/mp4/download`, attempted, signal });
    const location = header(res.headers, "location");
    if (res.statusCode >= 300 && res.statusCode < 400 && location) return new URL(location, this.t.apiUrl).href;
    if (res.statusCode >= 400) throw errorOf(attempted, res);
    throw new PutioSchemaError(attempted, "location", t("schema.no-mp4-address"));
  }
}
