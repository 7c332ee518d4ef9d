/**
 * OAuth: the device-code (out-of-band) login that needs no redirect URL, and token validation.
 * Both OOB endpoints are called WITHOUT a token.
 */
import { validator } from "../core/schema";
import type { Transport } from "../core/transport";
import { t } from "../core/texts";

const checkCode = validator({
  type: "object",
  properties: { code: { type: "string" }, qr_code_url: { type: "string", nullable: true } },
  required: ["code"],
});
const checkCodeMatch = validator({
  type: "object",
  properties: { oauth_token: { type: "string", nullable: true } },
  required: [],
});

const checkValidation = validator({
  type: "object",
  properties: {
    result: { type: "boolean" },
    user_id: { type: "integer", nullable: true },
    token_id: { type: "integer", nullable: true },
    token_scope: { type: "string", nullable: true },
  },
  required: ["result"],
});

export type DeviceCode = ReturnType<typeof checkCode>;
export type TokenValidation = ReturnType<typeof checkValidation>;

export class OAuthApi {
  constructor(private readonly t: Transport) {}

  /** Ask put.io for a code the user enters at put.io/link. */
  async getDeviceCode(appId: string | number, clientName = "Node-RED", signal?: AbortSignal): Promise<DeviceCode & { linkUrl: string }> {
    const res = await this.t.request({
      method: "GET",
      path: "/v2/oauth2/oob/code",
      query: { app_id: appId, client_name: clientName },
      auth: false,
      schema: checkCode,
      attempted: t("op.get-login-code"),
      signal,
    });
    return { ...res, linkUrl: `${this.t.webUrl}/link?code=${encodeURIComponent(res.code)}` };
  }

  /** The token once the user approved the code, else null. An unknown/expired code is a 404 PutioError. */
  async checkDeviceCode(code: string, signal?: AbortSignal): Promise<string | null> {
    const res = await this.t.request({
      method: "GET",
      path: `/v2/oauth2/oob/code/${encodeURIComponent(code)}`,
      auth: false,
      schema: checkCodeMatch,
      attempted: t("op.check-login-code"),
      signal,
    });
    return res.oauth_token || null;
  }

  /** put.io answers 200 with result:false for a bad token (not a 401). */
  async validate(token?: string, signal?: AbortSignal): Promise<TokenValidation> {
    const candidate = token ?? this.t.accessToken;
    return this.t.request({
      method: "GET",
      path: "/v2/oauth2/validate",
      query: { oauth_token: candidate },
      auth: false,
      schema: checkValidation,
      attempted: t("op.validate-token"),
      signal,
    });
  }
}
