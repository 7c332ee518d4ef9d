// /v2/events/*: the account history. Events are recorded as things happen:
// transfers finishing or failing (seen through the state's pushes), zips, uploads, RSS errors.
import { ApiError, putioDate } from "./http-util";
import { Ctx, Route, route } from "./router";
import type { EmulatorState, TransferJson } from "./state";

const DONE = new Set(["COMPLETED", "SEEDING"]);

export interface HistoryEvent {
  id: number;
  type: string;
  user_id: number;
  created_at: string;
  [field: string]: unknown;
}

interface History {
  events: HistoryEvent[];
  nextId: number;
  /** Last status seen per transfer, so each outcome is recorded once. */
  transferStatus: Map<number, string>;
}

const histories = new WeakMap<EmulatorState, History>();

function historyOf(state: EmulatorState): History {
  let h = histories.get(state);
  if (!h) histories.set(state, (h = { events: [], nextId: 98_886_001, transferStatus: new Map() }));
  return h;
}

/** Adds an event to a user's history (unless the user turned history off in the settings). */
export function recordEvent(state: EmulatorState, userId: number, type: string, fields: Record<string, unknown>): HistoryEvent | null {
  const user = state.users.get(userId);
  if (!user || user.settings.history_enabled === false) return null;
  const h = historyOf(state);
  const event: HistoryEvent = { id: h.nextId++, type, user_id: userId, created_at: putioDate(state.now()), ...fields };
  h.events.push(event);
  return event;
}

/** A user's events, newest first (for tests). */
export function historyEvents(state: EmulatorState, userId: number): HistoryEvent[] {
  return historyOf(state)
    .events.filter((e) => e.user_id === userId)
    .reverse();
}

/** Records transfer_completed / transfer_error when a transfer reaches that outcome, and failed callbacks. */
export function attachHistory(state: EmulatorState): void {
  const h = historyOf(state);
  state.on("callback-failed", (userId: number, fields: Record<string, unknown>) => recordEvent(state, userId, "transfer_callback_error", fields));
  state.on("push", (userId: number, type: string, value: unknown) => {
    if (type !== "transfer_update" && type !== "transfer_create") return;
    const t = value as TransferJson;
    const before = h.transferStatus.get(t.id);
    h.transferStatus.set(t.id, t.status);
    if (DONE.has(t.status) && !DONE.has(before ?? "")) {
      recordEvent(state, userId, "transfer_completed", { source: t.source, transfer_name: t.name, file_id: t.file_id, transfer_size: t.size });
    } else if (t.status === "ERROR" && before !== "ERROR") {
      recordEvent(state, userId, "transfer_error", { source: t.source, transfer_name: t.name });
    }
  });
}

function list(ctx: Ctx) {
  const perPage = ctx.params.perPage();
  const before = ctx.params.int("before");
  const all = historyEvents(ctx.state, ctx.user.id).filter((e) => before === undefined || e.id < before);
  return { events: all.slice(0, perPage), has_more: all.length > perPage };
}

/** Deleting history is refused to third-party app tokens. */
function requireFirstParty(ctx: Ctx): void {
  if ((ctx.tokenRecord?.appId ?? 0) !== 0) throw new ApiError(401, "invalid_scope", "This token's scope does not allow this");
}

export const eventRoutes: Route[] = [
  route("GET", "/v2/events/list", list),
  route("POST", "/v2/events/delete/{id}", (ctx) => {
    requireFirstParty(ctx);
    const h = historyOf(ctx.state);
    const id = ctx.pathInt(1);
    // A missing id still answers OK (live test).
    h.events = h.events.filter((e) => !(e.id === id && e.user_id === ctx.user.id));
    return {};
  }),
  route("POST", "/v2/events/delete", (ctx) => {
    requireFirstParty(ctx);
    const h = historyOf(ctx.state);
    h.events = h.events.filter((e) => e.user_id !== ctx.user.id);
    return {};
  }),
];
