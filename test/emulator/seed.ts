// A small demo library for the sandbox and manual exploration.
import type { EmulatorState } from "./state";

function subtitle(title: string): Buffer {
  return Buffer.from(`1\n00:00:01,000 --> 00:00:04,000\n${title}\n\n2\n00:00:05,000 --> 00:00:08,000\n(emulator subtitle)\n`);
}

export function seedDemoLibrary(state: EmulatorState, token: string): void {
  const movies = state.addFolder(0, "Movies", token).id;
  state.addFile(movies, "Big Buck Bunny (2008).mkv", { size: 3 * 1024 * 1024, seed: 1 }, {}, token);
  state.addFile(movies, "Big Buck Bunny (2008).srt", subtitle("Big Buck Bunny"), {}, token);
  state.addFile(movies, "Sintel (2010).mp4", { size: 256 * 1024, seed: 2 }, {}, token);
  state.addFile(movies, "Sintel (2010).srt", subtitle("Sintel"), {}, token);

  const tv = state.addFolder(0, "TV", token).id;
  const show = state.addFolder(tv, "Show S01", token).id;
  for (let ep = 1; ep <= 3; ep++) {
    const base = `Show.S01E0${ep}.720p`;
    state.addFile(show, `${base}.mkv`, { size: 128 * 1024 + ep, seed: 10 + ep }, {}, token);
    state.addFile(show, `${base}.srt`, subtitle(`Episode ${ep}`), {}, token);
  }

  const completed = state.addFolder(0, "Completed", token).id;
  state.addFile(0, "README.txt", Buffer.from("Files in this account are served by the offline put.io emulator.\n"), {}, token);

  state.addTransfer({
    url: "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&dn=Tears.of.Steel.2012.mkv",
    saveParentId: completed,
    status: "COMPLETED",
    size: 512 * 1024,
    userToken: token,
  });
  state.addTransfer({
    url: "https://example.com/downloads/Elephants.Dream.2006.mp4",
    saveParentId: completed,
    size: 384 * 1024,
    userToken: token,
  });
}
