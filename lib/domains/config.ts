/** Config domain: put.io's per-app, per-user key/value store (JSON values). */
import { describeValue } from "../core/describe";
import { validator } from "../core/schema";
import type { Transport } from "../core/transport";
import { checkOk } from "../core/wire";
import { PutioInputError } from "../core/errors";
import { t, type Text } from "../core/texts";

const checkConfig = validator({ type: "object", properties: { config: { type: "object" } }, required: ["config"] });
// `value` is any JSON (null when unset), so only its presence is checked.
const checkValue = validator({ type: "object", properties: { value: {} }, required: ["value"] });

function checkKey(key: string, attempted: Text): string {
  if (typeof key !== "string" || !key || key.includes("/")) throw new PutioInputError(attempted, t("input.bad-config-key", { value: describeValue(key) }));
  return key;
}

export class ConfigApi {
  constructor(private readonly t: Transport) {}

  async getAll(signal?: AbortSignal): Promise<Record<string, unknown>> {
    return (await this.t.request({ method: "GET", path: "/v2/config", schema: checkConfig, attempted: t("op.read-config"), signal })).config;
  }

  async setAll(config: Record<string, unknown>, signal?: AbortSignal): Promise<void> {
    await this.t.request({ method: "PUT", path: "/v2/config", json: { config }, schema: checkOk, attempted: t("op.write-config"), signal });
  }

  /** The value, or undefined when the key is not set (put.io answers value: null). */
  async get(key: string, signal?: AbortSignal): Promise<unknown> {
    const attempted = t("op.read-config-key", { key: String(key) });
    const res = await this.t.request({
      method: "GET",
      path: `/v2/config/${encodeURIComponent(checkKey(key, attempted))}`,
      schema: checkValue,
      attempted,
      signal,
    });
    return res.value ?? undefined;
  }

  async set(key: string, value: unknown, signal?: AbortSignal): Promise<void> {
    const attempted = t("op.write-config-key", { key: String(key) });
    await this.t.request({
      method: "PUT",
      path: `/v2/config/${encodeURIComponent(checkKey(key, attempted))}`,
      json: { value },
      schema: checkOk,
      attempted,
      signal,
    });
  }

  async delete(key: string, signal?: AbortSignal): Promise<void> {
    const attempted = t("op.delete-config-key", { key: String(key) });
    await this.t.request({ method: "DELETE", path: `/v2/config/${encodeURIComponent(checkKey(key, attempted))}`, schema: checkOk, attempted, signal });
  }
}
