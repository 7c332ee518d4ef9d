// Standalone emulator: node dist/test/emulator/cli.js [--port N] [--seed|--no-seed] [--manual-clock] [--help]
import { parseArgs } from "node:util";
import { startEmulator } from "./index";

const HELP = `The put.io emulator, standalone (npm run emulator -- [options]).

  --port N         the port of the API (default 8484; 0 picks a free one)
  --no-seed        start with an empty account (default: a small seeded library; --seed says so)
  --manual-clock   the emulator's clock moves only when told (default: real time)
  -h, --help       this help

It prints its URLs and a token; Ctrl-C stops it.`;

/** The options, or null after printing why they are wrong (exit code 2) or the help (0). */
function options(argv: string[]): { port: number; seed: boolean; realtimeClock: boolean } | null {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        port: { type: "string", default: "8484" },
        seed: { type: "boolean" },
        "no-seed": { type: "boolean" },
        "manual-clock": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${HELP}`);
    process.exitCode = 2;
    return null;
  }
  if (values.help) {
    console.log(HELP);
    return null;
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) {
    console.error(`--port: ${values.port} is not a port number (0 to 65535)\n\n${HELP}`);
    process.exitCode = 2;
    return null;
  }
  if (values.seed && values["no-seed"]) {
    console.error(`--seed and --no-seed together: choose one\n\n${HELP}`);
    process.exitCode = 2;
    return null;
  }
  return { port, seed: !values["no-seed"], realtimeClock: !values["manual-clock"] };
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  if (!opts) return;
  const emu = await startEmulator(opts);
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
