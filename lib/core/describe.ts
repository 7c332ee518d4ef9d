/**
 * A short, safe text for a value a flow sent, for error messages. JSON.stringify throws on
 * circular structures and BigInt and returns undefined for functions; an error message must never
 * fail to be built, whatever a msg carries.
 */
export function describeValue(value: unknown, max = 80): string {
  let text: string;
  try {
    const seen = new WeakSet<object>();
    text =
      JSON.stringify(value, (_key, v: unknown) => {
        if (typeof v === "bigint") return `${v}n`;
        if (typeof v === "function") return "[function]";
        if (typeof v === "symbol") return v.toString();
        if (v && typeof v === "object") {
          if (seen.has(v)) return "[circular]";
          seen.add(v);
        }
        return v;
      }) ?? String(value);
  } catch {
    // A getter that throws, a toJSON that throws: fall back to the type alone.
    text = Object.prototype.toString.call(value);
  }
  return text.length > max ? text.slice(0, Math.max(0, max - 1)) + "…" : text;
}
