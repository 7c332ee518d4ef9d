/**
 * putio-rss: manages put.io's RSS feeds (put.io fetches them and turns new matching items into
 * transfers): list, get, create, update, pause, resume, delete, read the item log, retry failed
 * items, clear the log.
 */
import { describeValue } from "../lib/core/describe";
import { t, type TextOrString } from "../lib/core/texts";
import { PutioInputError } from "../lib/core/errors";
import type { PutioClient } from "../lib/client";
import type { RssFeedInput } from "../lib/domains/rss";
import { checkId } from "../lib/core/wire";
import { readField } from "../lib/core/ids";
import { definePutioNode } from "./common/kernel";
import { STATUS, evalProp, type Msg, type Node, type NodeAPI, type NodeDef } from "./common/node-api";

const ACTIONS = ["list", "get", "create", "update", "pause", "resume", "delete", "items", "retry", "retry-all", "clear-log"] as const;
type Action = (typeof ACTIONS)[number];

interface RssDef extends NodeDef {
  account: string;
  /** One of ACTIONS, or "msg" for msg.action. */
  action?: string;
  feedId?: string;
  feedIdType?: string;
  title?: string;
  sourceUrl?: string;
  /** Folder id or path ("/TV/Show", created when missing). */
  folder?: string;
  keyword?: string;
  unwantedKeywords?: string;
  deleteOldFiles?: boolean;
  dontProcessWholeFeed?: boolean;
  extract?: boolean;
  paused?: boolean;
}

/** The settings a message may carry in msg.payload, by put.io's names (plus `folder` as id or path, and `paused`). */
interface FeedFields extends RssFeedInput {
  folder?: number | string;
  paused?: boolean;
}

const TEXT_FIELDS = ["title", "rss_source_url", "keyword", "unwanted_keywords"] as const;
const FLAG_FIELDS = ["delete_old_files", "dont_process_whole_feed", "extract", "paused"] as const;

function fieldsOfMsg(payload: unknown, attempted: TextOrString): FeedFields {
  if (!payload || typeof payload !== "object" || Array.isArray(payload) || Buffer.isBuffer(payload)) return {};
  const p = payload as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of [...TEXT_FIELDS, ...FLAG_FIELDS, "parent_dir_id", "folder"]) {
    const v = readField(p, k, attempted);
    if (v !== undefined && v !== null) out[k] = v;
  }
  return out as FeedFields;
}

/** Config fields, then msg.payload's on top. On update only what is set is sent (flags only from the msg). */
function fieldsFor(def: RssDef, msg: Msg, forCreate: boolean, attempted: TextOrString): FeedFields {
  const fromConfig: FeedFields = {};
  if (def.title?.trim()) fromConfig.title = def.title.trim();
  if (def.sourceUrl?.trim()) fromConfig.rss_source_url = def.sourceUrl.trim();
  if (def.folder?.trim()) fromConfig.folder = def.folder.trim();
  if (def.keyword?.trim()) fromConfig.keyword = def.keyword.trim();
  if (def.unwantedKeywords?.trim()) fromConfig.unwanted_keywords = def.unwantedKeywords.trim();
  if (forCreate) {
    fromConfig.delete_old_files = !!def.deleteOldFiles;
    fromConfig.dont_process_whole_feed = !!def.dontProcessWholeFeed;
    fromConfig.extract = !!def.extract;
    fromConfig.paused = !!def.paused;
  }
  return { ...fromConfig, ...fieldsOfMsg(msg.payload, attempted) };
}

async function toInput(
  client: PutioClient,
  fields: FeedFields,
  attempted: TextOrString,
  signal: AbortSignal,
): Promise<{ input: RssFeedInput; paused?: boolean }> {
  const { folder, paused, ...input } = fields;
  if (folder !== undefined && input.parent_dir_id === undefined) {
    if (typeof folder !== "number" && typeof folder !== "string")
      throw new PutioInputError(attempted, t("putio-rss.errors.bad-folder", { value: describeValue(folder, 60) }));
    const id = await client.folderId(folder, { create: true, signal });
    if (id === null) throw new PutioInputError(attempted, t("putio-rss.errors.no-folder", { folder: String(folder) }));
    input.parent_dir_id = id;
  }
  if (paused !== undefined && typeof paused !== "boolean") throw new PutioInputError(attempted, t("putio-rss.errors.bad-paused"));
  return { input, paused };
}

async function feedIdOf(RED: NodeAPI, node: Node, def: RssDef, msg: Msg, attempted: TextOrString): Promise<number> {
  let value = await evalProp(RED, node, def.feedId ?? "feedId", def.feedIdType || "msg", msg);
  if (value === undefined || value === null || value === "") {
    const p = msg.payload as { id?: unknown } | null;
    const id = p && typeof p === "object" ? readField(p, "id", attempted) : undefined;
    if (typeof id === "number") value = id;
  }
  if (value === undefined || value === null || value === "") throw new PutioInputError(attempted, t("putio-rss.errors.no-feed-id"));
  return checkId(value, attempted, "feed id");
}

export = function (RED: NodeAPI): void {
  definePutioNode<RssDef, RssDef>(RED, {
    type: "putio-rss",
    config: (def) => def,
    // An unknown action fails before the account is asked.
    lazyAccount: true,
    async input({ node, config: def, msg, send, status, ready, signal, text }) {
      const configured = def.action || "list";
      const action = (configured === "msg" ? msg.action : configured) as Action;
      if (!ACTIONS.includes(action))
        throw new PutioInputError(
          t("putio-rss.op.feeds"),
          t("putio-rss.errors.unknown-action", { value: describeValue(msg.action, 40), actions: ACTIONS.join(", ") }),
        );
      const attempted = t(`putio-rss.option.action.${action}`);
      const feedId = () => feedIdOf(RED, node, def, msg, attempted);
      status(STATUS.busy(text(`putio-rss.option.action.${action}`)));
      const client = await ready();
      const rss = client.rss;
      switch (action) {
        case "list":
          msg.payload = await rss.list(signal);
          break;
        case "create": {
          const { input, paused } = await toInput(client, fieldsFor(def, msg, true, attempted), attempted, signal);
          const feed = await rss.create(input, signal);
          if (paused) await rss.pause(feed.id, signal);
          msg.payload = paused ? await rss.get(feed.id, signal) : feed;
          break;
        }
        case "update": {
          const id = await feedId();
          const { input, paused } = await toInput(client, fieldsFor(def, msg, false, attempted), attempted, signal);
          if (Object.keys(input).length) await rss.update(id, input, signal);
          if (paused === true) await rss.pause(id, signal);
          if (paused === false) await rss.resume(id, signal);
          msg.payload = await rss.get(id, signal);
          break;
        }
        case "get":
          msg.payload = await rss.get(await feedId(), signal);
          break;
        case "pause":
        case "resume": {
          const id = await feedId();
          await rss[action](id, signal);
          msg.payload = await rss.get(id, signal);
          break;
        }
        case "delete": {
          const id = await feedId();
          await rss.delete(id, signal);
          msg.payload = { id, deleted: true };
          break;
        }
        case "items":
          msg.payload = await rss.items(await feedId(), signal);
          break;
        case "retry": {
          const id = await feedId();
          if (msg.itemId === undefined || msg.itemId === null || msg.itemId === "") await rss.retryAll(id, signal);
          else await rss.retryItem(id, checkId(msg.itemId, attempted, "item id"), signal);
          msg.payload = await rss.items(id, signal);
          break;
        }
        case "retry-all": {
          const id = await feedId();
          await rss.retryAll(id, signal);
          msg.payload = await rss.items(id, signal);
          break;
        }
        case "clear-log": {
          const id = await feedId();
          await rss.clearLog(id, signal);
          msg.payload = await rss.items(id, signal);
          break;
        }
      }
      msg.topic = msg.topic ?? `putio/rss/${action}`;
      send(msg);
    },
  });
};
