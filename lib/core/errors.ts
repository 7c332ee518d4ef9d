/**
 * Typed errors of the put.io client. Every message says what was attempted and what to do,
 * and none ever contains the access token (see `redact`). Each message is also a text by code
 * (`text`, `code`, `params`; lib/core/texts.ts) for callers that show it in another language.
 */
import { asText, isText, mapStrings, render, t, type Text, type TextOrString } from "./texts";

/** Base of every error this package throws. */
export class PutioBaseError extends Error {
  /** What was attempted, in English ("list folder 12"). */
  readonly attempted: string;
  /** The same as a text by code. */
  readonly attemptedText: Text;
  /** The whole message as a text by code (`message` is its English rendering). */
  readonly text: Text;
  /**
   * The message's code ("api.failed", "input.no-file-ids"): stable, for code and for translation.
   * An own property, so Node-RED's catch node passes it on as msg.error.code.
   */
  readonly code: string;
  /** The message's parameters. */
  readonly params: Text["params"];
  /**
   * A string message passes through as the `plain` text: for texts from outside (a system error,
   * put.io's own error_message) that are shown as they are in every language.
   */
  constructor(attempted: TextOrString, message: TextOrString, options?: { cause?: unknown }) {
    const text = redact(asText(message));
    super(render(text), options);
    this.name = new.target.name;
    this.attemptedText = redact(asText(attempted));
    this.attempted = render(this.attemptedText);
    this.text = text;
    this.code = text.code;
    this.params = text.params;
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

const HINTS: Record<number, Text> = {
  400: t("hint.400"),
  401: t("hint.401"),
  402: t("hint.402"),
  403: t("hint.403"),
  404: t("hint.404"),
  409: t("hint.409"),
  410: t("hint.410"),
  429: t("hint.429"),
};

/** The hint of an API error by its status, if there is one. */
function hintOf(status: number): Text | undefined {
  return HINTS[status] ?? (status >= 500 ? t("hint.5xx") : undefined);
}

/** An error answered by put.io with its error envelope (or a bare HTTP error status). */
export class PutioError extends PutioBaseError {
  readonly statusCode: number;
  readonly errorType: string;
  readonly errorMessage: string;
  readonly errorId: string | null;
  readonly extra: Record<string, unknown>;
  /**
   * `hint` replaces the status's own advice. `detail` is the error message as a text, for an
   * envelope this package builds itself (put.io's own error_message is shown as it is).
   */
  constructor(attempted: TextOrString, envelope: PutioErrorEnvelope, hint?: TextOrString, opts: { detail?: Text } = {}) {
    const status = envelope.status_code;
    const advice = hint !== undefined ? asText(hint) : hintOf(status);
    const detail = opts.detail ?? (envelope.error_message ? asText(envelope.error_message) : t("api.http-status", { status }));
    const params = { attempted: asText(attempted), detail, type: String(envelope.error_type), status };
    super(attempted, advice && render(advice) ? t("api.failed", { ...params, hint: advice }) : t("api.failed-no-hint", params));
    this.statusCode = status;
    this.errorType = envelope.error_type;
    this.errorMessage = envelope.error_message || render(detail);
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
  constructor(attempted: TextOrString, envelope: PutioErrorEnvelope, captchaUrl: string | null, resetAt: number | null) {
    super(
      attempted,
      envelope,
      captchaUrl
        ? t("hint.captcha", { url: captchaUrl })
        : resetAt
          ? t("hint.rate-limit-until", { until: new Date(resetAt).toISOString() })
          : t("hint.rate-limit"),
    );
    this.captchaUrl = captchaUrl;
    this.resetAt = resetAt;
  }
}

/** No usable HTTP answer: connection refused or cut, DNS failure. */
export class PutioNetworkError extends PutioBaseError {
  /** The system's error code (ECONNREFUSED, ENOTFOUND, UND_ERR_SOCKET), when there is one. */
  readonly systemCode: string | undefined;
  /** True when the request may have reached put.io (so it was not repeated blindly). */
  readonly mayHaveTakenEffect: boolean;
  constructor(attempted: TextOrString, cause: unknown, mayHaveTakenEffect: boolean) {
    const code = (cause as { code?: string })?.code;
    const detail = (cause as Error)?.message ?? String(cause);
    super(attempted, t(mayHaveTakenEffect ? "network.maybe-taken-effect" : "network.failed", { attempted: asText(attempted), cause: code ?? detail }), {
      cause,
    });
    this.systemCode = code;
    this.mayHaveTakenEffect = mayHaveTakenEffect;
  }
}

export type TimeoutPhase = "connect" | "headers" | "body";

/** put.io did not connect, answer or keep sending within the configured time. */
export class PutioTimeoutError extends PutioBaseError {
  readonly phase: TimeoutPhase;
  constructor(attempted: TextOrString, phase: TimeoutPhase, cause?: unknown) {
    const code = phase === "connect" ? "timeout.connect" : phase === "headers" ? "timeout.headers" : "timeout.body";
    super(attempted, t(code, { attempted: asText(attempted) }), { cause });
    this.phase = phase;
  }
}

/** The caller aborted (node closed, redeploy, msg cancelled). */
export class PutioAbortError extends PutioBaseError {
  constructor(attempted: TextOrString, cause?: unknown) {
    super(attempted, t("abort.aborted", { attempted: asText(attempted) }), { cause });
  }
}

/** put.io answered, but not with the shape we rely on. */
export class PutioSchemaError extends PutioBaseError {
  readonly field: string;
  constructor(attempted: TextOrString, field: string, problem: TextOrString) {
    super(attempted, t("schema.unexpected", { attempted: asText(attempted), field: field || t("schema.body"), problem: asText(problem) }));
    this.field = field;
  }
}

/**
 * Bad input caught before any request: a wrong magnet, an empty name, a hostile path. The problem
 * is an `input.*` text whose template starts with the `__attempted__` this adds; a string problem
 * (from code outside lib/) becomes `input.other`.
 */
export class PutioInputError extends PutioBaseError {
  constructor(attempted: TextOrString, problem: TextOrString) {
    super(attempted, withAttempted(attempted, isText(problem) ? problem : t("input.other", { problem })));
  }
}

/**
 * Local file problems in the download/upload engines (disk full, checksum mismatch). A text
 * message gets the `__attempted__` parameter added, as input errors do.
 */
export class PutioTransferIntegrityError extends PutioBaseError {
  constructor(attempted: TextOrString, message: TextOrString, options?: { cause?: unknown }) {
    super(attempted, isText(message) ? withAttempted(attempted, message) : message, options);
  }
}

function withAttempted(attempted: TextOrString, text: Text): Text {
  // A node's own text (a catalog key such as "putio-files.errors.no-query") is the problem alone;
  // lib's input and engine texts hold __attempted__ themselves.
  if (/^(putio-[a-z-]+|common)\./.test(text.code)) return t("input.other", { attempted: asText(attempted), problem: text });
  return t(text.code, { ...text.params, attempted: asText(attempted) });
}

/**
 * The error with the token removed from its message and, for this package's errors, from its
 * text and attempted phrase too (the error is changed in place: it may already be referenced).
 */
export function redactError<E extends Error>(e: E, token?: string): E {
  const clean = redact(e.message, token);
  if (clean !== e.message) e.message = clean;
  if (e instanceof PutioBaseError) {
    const w = e as unknown as { text: Text; params: Text["params"]; attemptedText: Text; attempted: string };
    w.text = redact(e.text, token);
    w.params = w.text.params;
    w.attemptedText = redact(e.attemptedText, token);
    w.attempted = render(w.attemptedText);
  }
  return e;
}

/** Remove anything that looks like the token from a text (URLs with oauth_token, headers). */
export function redact(text: string, token?: string): string;
/** The same for every string parameter of a text (nested texts too). */
export function redact(text: Text, token?: string): Text;
export function redact(text: string | Text, token?: string): string | Text {
  if (typeof text !== "string") return mapStrings(text, (s) => redact(s, token));
  let out = text.replace(/(oauth_token=)[^&\s"']+/gi, "$1***").replace(/((?:token|bearer)\s+)[A-Za-z0-9._-]{8,}/gi, "$1***");
  if (token && token.length >= 4) out = out.split(token).join("***");
  return out;
}
