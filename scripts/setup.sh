#!/usr/bin/env bash
# Installs the toolchain pieces Osteon needs, skipping what is already present.
# Usage: scripts/setup.sh [--browser]   (--browser also installs Chromium + Playwright)
set -euo pipefail
cd "$(dirname "$0")/.."
WASM_BINDGEN_VERSION=0.2.130
log() { printf '[setup] %s\n' "$*" >&2; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The threaded wasm build (scripts/build-web.sh) rebuilds the standard library with atomics.
if ! rustup component list --installed | grep -q '^rust-src'; then
  log "adding rust-src (for the threaded wasm build)"
  rustup component add rust-src || log "rust-src unavailable: the app will run single-threaded"
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  # no --locked: the locked webpki-roots is not in the registry this machine reaches
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if [[ "${1:-}" == "--browser" ]]; then
  if ! command -v wasm-pack >/dev/null; then
    log "installing wasm-pack (a few minutes, once)"
    cargo install wasm-pack --locked
  fi
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    log "installing Chromium and ChromeDriver"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  if [[ ! -d tests/e2e/node_modules/playwright-core ]]; then
    log "installing playwright-core (no browser download)"
    (cd tests/e2e && npm install --no-audit --no-fund --silent)
  fi
fi
