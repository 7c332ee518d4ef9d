/**
 * JSON Schemas at the wire boundary: each domain module declares the schema of every answer it
 * reads (`as const`), and its TypeScript type is derived from that schema (FromSchema), so the
 * two cannot drift apart. A mismatch becomes a PutioSchemaError naming the field, never a
 * TypeError inside a node. put.io adds fields over time: extra properties are allowed, only what
 * we read is declared, and only what we depend on is required.
 */
import Ajv, { type ValidateFunction } from "ajv";
import { PutioSchemaError } from "./errors";
import { t, type TextOrString } from "./texts";

const ajv = new Ajv({ allErrors: false, strict: false, coerceTypes: false });

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type RequiredKeys<S> = S extends { required: readonly (infer K)[] } ? K : never;
type ObjectOf<S, P> = Simplify<
  { -readonly [K in keyof P & RequiredKeys<S>]: FromSchema<P[K]> } & { -readonly [K in Exclude<keyof P, RequiredKeys<S>>]?: FromSchema<P[K]> }
>;
type Base<S> = S extends { const: infer C }
  ? C
  : S extends { type: "string" }
    ? string
    : S extends { type: "integer" | "number" }
      ? number
      : S extends { type: "boolean" }
        ? boolean
        : S extends { type: "array"; items: infer I }
          ? FromSchema<I>[]
          : S extends { type: "object"; properties: infer P }
            ? ObjectOf<S, P>
            : S extends { type: "object" }
              ? Record<string, unknown>
              : unknown;

/** The TypeScript type a JSON Schema (declared `as const`) describes. */
export type FromSchema<S> = S extends { nullable: true } ? Base<S> | null : Base<S>;

export interface Validator<T> {
  (data: unknown, attempted: TextOrString): T;
}

/** Compile once (at module load) and return a checker that throws PutioSchemaError. */
export function validator<const S extends object>(schema: S): Validator<FromSchema<S>> {
  const check: ValidateFunction = ajv.compile(schema);
  return (data: unknown, attempted: TextOrString): FromSchema<S> => {
    if (check(data)) return data as FromSchema<S>;
    const e = check.errors?.[0];
    const path = (e?.instancePath ?? "") + (e?.keyword === "required" ? "/" + String(e.params.missingProperty) : "");
    // ajv's own message is shown as it is (plain).
    const problem = e
      ? e.keyword === "required"
        ? t("schema.missing")
        : e.message
          ? t("plain", { text: e.message })
          : t("schema.invalid")
      : t("schema.invalid");
    throw new PutioSchemaError(attempted, path.replace(/^\//, "").replace(/\//g, "."), problem);
  };
}

/** put.io's success envelope marker. */
export const okStatus = { type: "string", const: "OK" } as const;
