#!/usr/bin/env bash
# Builds dist/osteon.html: the whole app in one HTML file (modules, worker, CSS and wasm
# inlined) that runs from disk with no server and no network, e.g. from a USB stick.
# Reuses www/pkg when it is there; builds it (scripts/build-web.sh) otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -f www/pkg/osteon_bg.wasm || ! -f www/pkg/osteon.js || "${1:-}" == "--rebuild" ]]; then
  bash scripts/build-web.sh
fi
node scripts/bundle-single.mjs --html index.html --wasm www/pkg/osteon_bg.wasm --worker www/worker.js --out dist/osteon.html
