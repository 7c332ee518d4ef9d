/** Account domain: info and settings. */
import { validator, type FromSchema } from "../core/schema";
import type { Transport } from "../core/transport";
import { checkOk } from "../core/wire";
import { t } from "../core/texts";

const accountInfoSchema = {
  type: "object",
  properties: {
    user_id: { type: "integer" },
    username: { type: "string" },
    mail: { type: "string", nullable: true },
    account_status: { type: "string", nullable: true },
    disk: {
      type: "object",
      properties: { avail: { type: "number" }, size: { type: "number" }, used: { type: "number" } },
      required: ["avail", "size", "used"],
    },
    plan_expiration_date: { type: "string", nullable: true },
    trash_size: { type: "number", nullable: true },
    /** put.io's own warnings about the account (a failing callback URL, a failing Pushover token); more may come. */
    warnings: { type: "object", nullable: true, additionalProperties: { type: "boolean" } },
  },
  required: ["user_id", "username", "disk"],
} as const;
export type AccountInfo = FromSchema<typeof accountInfoSchema>;
const checkInfo = validator({ type: "object", properties: { info: accountInfoSchema }, required: ["info"] });

/** Settings are a wide, changing object; we check the fields we act on and keep the rest. */
export interface AccountSettings {
  default_download_folder?: number | null;
  callback_url?: string | null;
  trash_enabled?: boolean | null;
  [key: string]: unknown;
}
const checkSettings = validator({
  type: "object",
  properties: {
    settings: {
      type: "object",
      properties: {
        default_download_folder: { type: "integer", nullable: true },
        callback_url: { type: "string", nullable: true },
        trash_enabled: { type: "boolean", nullable: true },
      },
      required: [],
    },
  },
  required: ["settings"],
});

export class AccountApi {
  constructor(private readonly t: Transport) {}

  async info(signal?: AbortSignal): Promise<AccountInfo> {
    return (await this.t.request({ method: "GET", path: "/v2/account/info", schema: checkInfo, attempted: t("op.read-account-info"), signal })).info;
  }

  async settings(signal?: AbortSignal): Promise<AccountSettings> {
    const res = await this.t.request({ method: "GET", path: "/v2/account/settings", schema: checkSettings, attempted: t("op.read-account-settings"), signal });
    return res.settings as AccountSettings;
  }

  /** put.io takes settings as a JSON body (as the official TS SDK sends them). */
  async updateSettings(changes: Partial<AccountSettings>, signal?: AbortSignal): Promise<void> {
    await this.t.request({
      method: "POST",
      path: "/v2/account/settings",
      json: changes,
      idempotent: true,
      schema: checkOk,
      attempted: t("op.change-account-settings"),
      signal,
    });
  }
}
