// Standalone emulator: node dist/test/emulator/cli.js [--port N] [--seed|--no-seed] [--manual-clock]
import { startEmulator } from "./index";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const portIndex = args.indexOf("--port");
  const port = portIndex >= 0 ? Number(args[portIndex + 1]) : 8484;
  const emu = await startEmulator({
    port,
    seed: !args.includes("--no-seed"),
    realtimeClock: !args.includes("--manual-clock"),
  });
  console.log(`put.io emulator listening
  API:     ${emu.apiUrl}/v2
  upload:  ${emu.uploadUrl}/v2/files/upload   tus: ${emu.uploadUrl}/files/
  socket:  ${emu.socketUrl}
  link:    ${emu.apiUrl}/link   (approve device codes in a browser)
  token:   ${emu.token}`);
  const stop = () => void emu.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
