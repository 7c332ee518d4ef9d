/**
 * The emulator (our put.io) in a process of its own, driven over IPC by a benchmark: what it serves
 * costs CPU here, never in the process being measured.
 */
import { startEmulator, type Emulator } from "../test/emulator";
import { serve } from "./proc";

let emu: Emulator | null = null;
const need = (): Emulator => {
  if (!emu) throw new Error("emulator not started");
  return emu;
};

serve({
  start: async (arg: { realtimeClock?: boolean }) => {
    emu = await startEmulator({ realtimeClock: arg?.realtimeClock ?? false });
    return { apiUrl: emu.apiUrl, uploadUrl: emu.uploadUrl, socketUrl: emu.socketUrl, token: emu.token };
  },
  addFolder: (a: { parent: number; name: string }) => need().state.addFolder(a.parent, a.name).id,
  addFile: (a: { parent: number; name: string; size: number; seed: number }) => {
    const f = need().state.addFile(a.parent, a.name, { size: a.size, seed: a.seed });
    need().state.getFile(f.id); // computes the advertised CRC now, so no measured request pays for it
    return f.id;
  },
  addTransfer: (a: { url: string; saveParentId?: number; files?: { name: string; size: number }[] }) => need().state.addTransfer(a).id,
  advance: (ms: number) => need().advance(ms),
  knob: (a: { name: string; value: unknown }) => {
    (need().knobs as unknown as Record<string, unknown>)[a.name] = a.value;
  },
  requestCount: () => need().requests.length,
  /** The request log from index `from` on, tokens left out. */
  requests: (from: number) =>
    need()
      .requests.slice(from ?? 0)
      .map(({ method, path, status, time }) => ({ method, path, status, time })),
  close: () => need().close(),
});
