// Raw-HTTP helpers for the emulator's own specs (deliberately not the project's client).
import * as assert from "node:assert/strict";
import type { Emulator } from "./index";

export interface RawResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export async function call(
  emu: Emulator,
  method: string,
  path: string,
  opts: { form?: Record<string, string>; json?: unknown; token?: string | null; headers?: Record<string, string>; body?: BodyInit } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  const token = opts.token === undefined ? emu.token : opts.token;
  if (token) headers.Authorization = `token ${token}`;
  let body: BodyInit | undefined = opts.body;
  if (opts.form) body = new URLSearchParams(opts.form);
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers["Content-Type"] = "application/json";
  }
  const res = await fetch(emu.apiUrl + path, { method, headers, body, redirect: "manual" });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** Asserts the exact put.io error envelope. */
export function assertError(res: RawResponse, status: number, errorType?: string): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.headers.get("access-control-allow-origin"), "*");
  assert.deepEqual(Object.keys(res.body).sort(), ["error_id", "error_message", "error_type", "error_uri", "extra", "status", "status_code"]);
  assert.equal(res.body.status, "ERROR");
  assert.equal(res.body.status_code, status);
  assert.equal(res.body.error_id, null);
  assert.equal(res.body.error_uri, "http://api.put.io/v2/docs");
  assert.deepEqual(res.body.extra, {});
  if (errorType) assert.equal(res.body.error_type, errorType);
}

export function assertOk(res: RawResponse): void {
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.status, "OK");
}
