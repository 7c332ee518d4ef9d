/**
 * Extract domain: put.io unpacks archives (ZIP, RAR, multi-volume sets) on its side, into the
 * archive's folder. One extraction per archive, listed with its status; no socket push announces
 * progress (lib/core/quirks.ts), so callers poll the list.
 */
import { PutioInputError } from "../core/errors";
import { validator, type FromSchema } from "../core/schema";
import { t } from "../core/texts";
import type { Transport } from "../core/transport";
import { checkId, checkOk } from "../core/wire";

/** What `files` of an extraction holds varies between answers seen (ids, or file objects): both are read. */
const extractionFileSchema = {
  oneOf: [{ type: "integer" }, { type: "object", properties: { id: { type: "integer" }, name: { type: "string" } }, required: ["id"] }],
} as const;

const extractionSchema = {
  type: "object",
  properties: {
    id: { type: "integer" },
    name: { type: "string", nullable: true },
    status: { type: "string" },
    message: { type: "string", nullable: true },
    num_parts: { type: "integer", nullable: true },
    files: { type: "array", nullable: true, items: extractionFileSchema },
  },
  required: ["id", "status"],
} as const;
/** One extraction as put.io reports it (status: see EXTRACTION_STATUSES in lib/core/quirks.ts). */
export type PutioExtraction = FromSchema<typeof extractionSchema>;

const checkExtractions = validator({
  type: "object",
  properties: { extractions: { type: "array", items: extractionSchema } },
  required: ["extractions"],
});

/** The file ids an extraction names, whichever form put.io used. */
export function extractionFileIds(e: PutioExtraction): number[] {
  return (e.files ?? []).map((f) => (typeof f === "number" ? f : (f as { id: number }).id));
}

/** Longest password sent; put.io publishes no limit, this only keeps a runaway value off the wire. */
const MAX_PASSWORD_LENGTH = 1024;

export class ExtractApi {
  constructor(private readonly t: Transport) {}

  /**
   * Starts put.io's extraction of these archives (for a multi-volume set: its first volume). Not
   * idempotent, so never repeated after a network error; asking again for an archive that waits
   * for a password, with a password, makes put.io try again under the same extraction id.
   */
  async start(fileIds: number[], opts: { password?: string; signal?: AbortSignal } = {}): Promise<PutioExtraction[]> {
    const attempted = t("op.extract", { count: Array.isArray(fileIds) ? fileIds.length : 0 });
    if (!Array.isArray(fileIds) || !fileIds.length) throw new PutioInputError(attempted, t("input.no-file-ids"));
    const ids = fileIds.map((id) => checkId(id, attempted));
    const password = opts.password;
    if (password !== undefined) {
      // Never echoed: the messages below do not quote it.
      if (typeof password !== "string") throw new PutioInputError(attempted, t("input.password-not-text"));
      if (password.includes("\0")) throw new PutioInputError(attempted, t("input.password-has-nul"));
      if (password.length > MAX_PASSWORD_LENGTH) throw new PutioInputError(attempted, t("input.password-too-long", { max: MAX_PASSWORD_LENGTH }));
    }
    const res = await this.t.request({
      method: "POST",
      path: "/v2/files/extract",
      form: { user_file_ids: ids, password: password === "" ? undefined : password },
      schema: checkExtractions,
      attempted,
      signal: opts.signal,
    });
    return res.extractions;
  }

  /** Every extraction put.io holds for the account (running and finished). */
  async list(signal?: AbortSignal): Promise<PutioExtraction[]> {
    return (await this.t.request({ method: "GET", path: "/v2/files/extract", schema: checkExtractions, attempted: t("op.list-extractions"), signal }))
      .extractions;
  }

  /** Forgets an extraction (files already written stay). */
  async remove(extractionId: number, signal?: AbortSignal): Promise<void> {
    const attempted = t("op.remove-extraction", { id: extractionId });
    checkId(extractionId, attempted, t("what.extraction-id"));
    await this.t.request({ method: "DELETE", path: `/v2/files/extract/${extractionId}`, schema: checkOk, attempted, signal });
  }
}
