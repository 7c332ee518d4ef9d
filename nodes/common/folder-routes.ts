/**
 * The editor's put.io folder picker: `GET putio-account/<id>/folders?path=/Movies/Sh` answers the
 * sub-folders of the deepest existing folder of the typed path, through the deployed account's
 * shared client (its request queue, its token, which never leaves the runtime). Guarded like the
 * login routes: the folder tree of an account is for those who may change the account.
 */
import type { Request, Response } from "express";
import { PutioError, PutioInputError, PutioNetworkError, PutioTimeoutError, redact } from "../../lib/core/errors";
import { FolderSuggester } from "./folder-suggest";
import type { AccountNode } from "./account";
import { localizeError } from "./errors";
import { textOf } from "./i18n";
import type { NodeAPI } from "./node-api";

/** Characters of a typed path at most: far more than any real path, far less than a hostile one. */
export const MAX_PATH_LENGTH = 4_096;
/** The key of the account's shared suggester (its cache lives and dies with the account). */
const SHARED_KEY = "folder-picker";
/** Apps that already have the route: one per admin app, however many account nodes. */
const registeredOn = new WeakSet<object>();

export type PickerState = "ok" | "not-deployed" | "no-token" | "unauthorized" | "unreachable";

function fail(res: Response, status: number, message: string): void {
  res.status(status).json({ error: message });
}

export function registerFolderRoutes(RED: NodeAPI): void {
  if (registeredOn.has(RED.httpAdmin)) return;
  registeredOn.add(RED.httpAdmin);
  const write = RED.auth.needsPermission("putio-account.write");

  RED.httpAdmin.get("/putio-account/:id/folders", write, async (req: Request, res: Response) => {
    const id = String(req.params.id);
    const typed = req.query.path ?? "";
    if (!/^[\w.-]{1,64}$/.test(id)) return fail(res, 400, textOf(RED, "putio-account.picker.errors.bad-id"));
    if (typeof typed !== "string") return fail(res, 400, textOf(RED, "putio-account.picker.errors.bad-path"));
    if (typed.length > MAX_PATH_LENGTH) return fail(res, 400, textOf(RED, "putio-account.picker.errors.path-too-long", { max: MAX_PATH_LENGTH }));
    const node = RED.nodes.getNode(id) as unknown as (AccountNode & { type?: string }) | null;
    // Not in the running flows: an account added or changed in the editor is used once deployed.
    if (!node) return res.json({ state: "not-deployed" });
    if (node.type !== "putio-account") return fail(res, 404, textOf(RED, "putio-account.picker.errors.not-account"));
    if (node.state === "no-token" || node.state === "unauthorized") return res.json({ state: node.state });
    const token = node.tokenForRedaction();
    try {
      await node.ready();
      const suggester = node.shared(SHARED_KEY, () => {
        const s = new FolderSuggester(node.client.files);
        return Object.assign(s, { close: () => s.clear() });
      });
      const found = await suggester.suggest(typed, node.client.transport.closeSignal);
      node.reportOutcome();
      res.json({ state: "ok", ...found });
    } catch (err) {
      const e = localizeError(RED, err as Error);
      const message = redact(e.message, token);
      if (err instanceof PutioInputError) return fail(res, 400, message);
      if (err instanceof PutioError && err.isUnauthorized) return res.json({ state: "unauthorized" });
      if (err instanceof PutioNetworkError || err instanceof PutioTimeoutError) {
        node.reportOutcome(err);
        return res.json({ state: "unreachable", message });
      }
      // put.io answered with an error (a folder deleted meanwhile, a bad cursor): say which.
      fail(res, 502, message);
    }
  });
}
