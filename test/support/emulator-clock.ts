// Runs a promise while the emulator's manual clock moves on, one second at a time, until it
// settles: for library calls that poll put.io and wait on the emulator's clock.
import type { Emulator } from "../emulator";

export async function whileClockRuns<T>(emu: Emulator, p: Promise<T>, maxSeconds = 400): Promise<T> {
  let settled = false;
  const watched = p.finally(() => {
    settled = true;
  });
  watched.catch(() => {});
  for (let i = 0; i < maxSeconds && !settled; i++) {
    await emu.advance(1000);
    // Let the caller's next poll run before the clock moves again.
    await new Promise((r) => setTimeout(r, 5));
  }
  return watched;
}
