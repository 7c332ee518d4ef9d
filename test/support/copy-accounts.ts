// The copy specs' world: two emulated put.io accounts (A, the emulator's own user; B, a second
// one) with a client each, and a way to read every text out of what a copy returned or threw.
import { PutioClient } from "../../lib/client";
import { Emulator, startEmulator } from "../emulator";

export interface TwoAccounts {
  emu: Emulator;
  tokenB: string;
  a: PutioClient;
  b: PutioClient;
}

export async function startTwoAccounts(
  retry: { baseDelayMs: number; maxDelayMs: number; retries?: number } = { baseDelayMs: 1, maxDelayMs: 5 },
): Promise<TwoAccounts> {
  const emu = await startEmulator();
  const tokenB = emu.addUser({ username: "b" }).token;
  return {
    emu,
    tokenB,
    a: new PutioClient({ token: emu.token, apiUrl: emu.apiUrl, retry }),
    b: new PutioClient({ token: tokenB, apiUrl: emu.apiUrl, retry }),
  };
}

export async function closeTwoAccounts(w: Pick<TwoAccounts, "emu" | "a" | "b">): Promise<void> {
  await w.a.close();
  await w.b.close();
  await w.emu.close();
}

/** Every string inside a value: its fields, and an error's message, text, parameters and put.io's error message. */
export function allText(value: unknown): string {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown) => {
    if (typeof v === "string") return void out.push(v);
    if (!v || typeof v !== "object" || seen.has(v)) return;
    seen.add(v);
    if (v instanceof Error) out.push(v.message, String(v.stack ?? ""));
    for (const k of Object.keys(v)) walk((v as Record<string, unknown>)[k]);
    if (v instanceof Error)
      for (const k of ["attempted", "text", "params", "attemptedText", "errorMessage"]) walk((v as unknown as Record<string, unknown>)[k]);
  };
  walk(value);
  return out.join("\n");
}
