/**
 * Events domain: the account history (transfer_completed, transfer_error, zip_created, upload, rss_…).
 * Unlike the cursor-paged lists, history pages go backwards with `before=<event id>`.
 */
import { PutioError } from "../core/errors";
import { t } from "../core/texts";
import { INVALID_SCOPE } from "../core/quirks";
import { validator, type FromSchema } from "../core/schema";
import type { Transport } from "../core/transport";
import { checkId, checkOk, clampPerPage } from "../core/wire";

const eventSchema = {
  type: "object",
  properties: {
    id: { type: "integer" },
    type: { type: "string" },
    created_at: { type: "string" },
    user_id: { type: "integer" },
  },
  required: ["id", "type", "created_at"],
} as const;
/** One history event; put.io adds type-specific fields (file_id, transfer_name, zip_id…) and new types over time. */
export type PutioEvent = FromSchema<typeof eventSchema> & Record<string, unknown>;

const checkPage = validator({
  type: "object",
  properties: { events: { type: "array", items: eventSchema }, has_more: { type: "boolean" } },
  required: ["events"],
});

/**
 * History events that mean something went wrong and someone should look: a failed transfer (also
 * one from RSS), a callback put.io could not deliver, an RSS filter put.io paused, a file put.io
 * deleted from an RSS folder for lack of space.
 */
export const TROUBLE_EVENT_TYPES: ReadonlySet<string> = new Set([
  "transfer_error",
  "transfer_from_rss_error",
  "transfer_callback_error",
  "rss_filter_paused",
  "file_from_rss_deleted_for_space",
]);

export interface EventPage {
  events: PutioEvent[];
  hasMore: boolean;
}

export class EventsApi {
  constructor(private readonly t: Transport) {}

  /** One page, newest first; `before` an event id to get older ones. */
  async page(opts: { perPage?: number; before?: number; signal?: AbortSignal } = {}): Promise<EventPage> {
    const attempted = t("op.list-history");
    const perPage = clampPerPage(opts.perPage, 100);
    if (opts.before !== undefined) checkId(opts.before, attempted, t("what.event-id"));
    const res = await this.t.request({
      method: "GET",
      path: "/v2/events/list",
      query: { per_page: perPage, before: opts.before },
      schema: checkPage,
      attempted,
      signal: opts.signal,
    });
    return { events: res.events as PutioEvent[], hasMore: res.has_more === true };
  }

  /** Every event newest first, following `before` while put.io says there are more; stops early when `until` says so. */
  async *list(opts: { perPage?: number; signal?: AbortSignal; until?: (e: PutioEvent) => boolean } = {}): AsyncGenerator<PutioEvent> {
    let before: number | undefined;
    for (;;) {
      const page = await this.page({ perPage: opts.perPage, before, signal: opts.signal });
      for (const e of page.events) {
        if (opts.until?.(e)) return;
        yield e;
      }
      const last = page.events[page.events.length - 1];
      if (!page.hasMore || !last || (before !== undefined && last.id >= before)) return;
      before = last.id;
    }
  }

  /** Deleting an event that is already gone answers OK, so a repeat is harmless. */
  async delete(id: number, signal?: AbortSignal): Promise<void> {
    const attempted = t("op.delete-event", { id });
    checkId(id, attempted, t("what.event-id"));
    await this.scoped(() => this.t.request({ method: "POST", path: `/v2/events/delete/${id}`, idempotent: true, schema: checkOk, attempted, signal }));
  }

  async clear(signal?: AbortSignal): Promise<void> {
    await this.scoped(() =>
      this.t.request({ method: "POST", path: "/v2/events/delete", idempotent: true, schema: checkOk, attempted: t("op.clear-history"), signal }),
    );
  }

  /** put.io lets only its own apps delete history: other tokens get 401 invalid_scope, not a bad token (core/quirks.ts). */
  private async scoped(call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (err) {
      if (err instanceof PutioError && err.errorType === INVALID_SCOPE) {
        throw new PutioError(
          err.attemptedText,
          { status_code: err.statusCode, error_type: err.errorType, error_message: err.errorMessage, error_id: err.errorId, extra: err.extra },
          t("hint.history-own-apps"),
        );
      }
      throw err;
    }
  }
}
