/**
 * Typed errors of the put.io client. Every message says what was attempted and what to do,
 * and none ever contains the access token (see `redact`).
 */

/** Base of every error this package throws; `attempted` is a short human phrase ("list folder 12"). */
export class PutioBaseError extends Error {
  readonly attempted: string;
  constructor(attempted: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.attempted = attempted;
  }
}

/** The fields of put.io's error envelope. */
export interface PutioErrorEnvelope {
  status_code: number;
  error_type: string;
  error_message: string;
  error_id?: string | null;
  error_uri?: string;
  extra?: Record<string, unknown>;
}

const HINTS: Record<number, string> = {
  400: "Check the values sent.",
  401: "The access token is missing, wrong or revoked: reconnect the put.io account.",
  402: "The put.io account has no active plan.",
  403: "put.io refused this for this account.",
  404: "It does not exist (any more) on put.io.",
  409: "It conflicts with the current state on put.io.",
  410: "It has expired on put.io; create it again.",
  429: "Too many requests: put.io's rate limit was reached.",
};

/** An error answered by put.io with its error envelope (or a bare HTTP error status). */
export class PutioError extends PutioBaseError {
  readonly statusCode: number;
  readonly errorType: string;
  readonly errorMessage: string;
  readonly errorId: string | null;
  readonly extra: Record<string, unknown>;
  constructor(attempted: string, envelope: PutioErrorEnvelope, hint?: string) {
    const status = envelope.status_code;
    const advice = hint ?? HINTS[status] ?? (status >= 500 ? "put.io had a server error; try again later." : "");
    super(
      attempted,
      `put.io: ${attempted} failed: ${envelope.error_message || "HTTP " + status} (${envelope.error_type}, HTTP ${status}).` + (advice ? ` ${advice}` : ""),
    );
    this.statusCode = status;
    this.errorType = envelope.error_type;
    this.errorMessage = envelope.error_message;
    this.errorId = envelope.error_id ?? null;
    this.extra = envelope.extra ?? {};
  }
  get isUnauthorized(): boolean {
    return this.statusCode === 401;
  }
  get isNotFound(): boolean {
    return this.statusCode === 404 || this.statusCode === 410;
  }
}

/** 429 that could not be waited out: retries exhausted, or put.io wants a captcha solved. */
export class PutioRateLimitError extends PutioError {
  readonly captchaUrl: string | null;
  readonly resetAt: number | null;
  constructor(attempted: string, envelope: PutioErrorEnvelope, captchaUrl: string | null, resetAt: number | null) {
    super(
      attempted,
      envelope,
      captchaUrl
        ? `put.io asks for a captcha before it accepts more requests from this address: open ${captchaUrl} and solve it, then retry.`
        : `Too many requests: put.io's rate limit was reached${resetAt ? ` until ${new Date(resetAt).toISOString()}` : ""}; retry later.`,
    );
    this.captchaUrl = captchaUrl;
    this.resetAt = resetAt;
  }
}

/** No usable HTTP answer: connection refused or cut, DNS failure. */
export class PutioNetworkError extends PutioBaseError {
  readonly code: string | undefined;
  /** True when the request may have reached put.io (so it was not repeated blindly). */
  readonly mayHaveTakenEffect: boolean;
  constructor(attempted: string, cause: unknown, mayHaveTakenEffect: boolean) {
    const code = (cause as { code?: string })?.code;
    const detail = (cause as Error)?.message ?? String(cause);
    super(
      attempted,
      `put.io: ${attempted} failed: network error (${code ?? detail}).` +
        (mayHaveTakenEffect
          ? " The request may have been carried out: check put.io before repeating it."
          : " Check the network connection and the API address."),
      { cause },
    );
    this.code = code;
    this.mayHaveTakenEffect = mayHaveTakenEffect;
  }
}

export type TimeoutPhase = "connect" | "headers" | "body";

/** put.io did not connect, answer or keep sending within the configured time. */
export class PutioTimeoutError extends PutioBaseError {
  readonly phase: TimeoutPhase;
  constructor(attempted: string, phase: TimeoutPhase, cause?: unknown) {
    super(
      attempted,
      `put.io: ${attempted} timed out (${phase === "connect" ? "no connection" : phase === "headers" ? "no answer" : "the answer stalled"}). Try again later, or raise the timeout.`,
      { cause },
    );
    this.phase = phase;
  }
}

/** The caller aborted (node closed, redeploy, msg cancelled). */
export class PutioAbortError extends PutioBaseError {
  constructor(attempted: string, cause?: unknown) {
    super(attempted, `put.io: ${attempted} was aborted.`, { cause });
  }
}

/** put.io answered, but not with the shape we rely on. */
export class PutioSchemaError extends PutioBaseError {
  readonly field: string;
  constructor(attempted: string, field: string, problem: string) {
    super(attempted, `put.io: ${attempted}: unexpected answer: ${field || "(body)"} ${problem}. The put.io API may have changed; please report this.`);
    this.field = field;
  }
}

/** Bad input caught before any request: a wrong magnet, an empty name, a hostile path. */
export class PutioInputError extends PutioBaseError {
  constructor(attempted: string, problem: string) {
    super(attempted, `${attempted}: ${problem}`);
  }
}

/** Local file problems in the download/upload engines (disk full, checksum mismatch). */
export class PutioTransferIntegrityError extends PutioBaseError {}

/** Remove anything that looks like the token from a text (URLs with oauth_token, headers). */
export function redact(text: string, token?: string): string {
  let out = text.replace(/(oauth_token=)[^&\s"']+/gi, "$1***").replace(/((?:token|bearer)\s+)[A-Za-z0-9._-]{8,}/gi, "$1***");
  if (token && token.length >= 4) out = out.split(token).join("***");
  return out;
}
