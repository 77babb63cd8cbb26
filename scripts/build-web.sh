#!/usr/bin/env bash
# Builds the wasm module and its JS bindings into www/pkg (release profile).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --lib --target wasm32-unknown-unknown
wasm-bindgen --target web --out-dir www/pkg --no-typescript target/wasm32-unknown-unknown/release/osteon.wasm
echo "[build] www/pkg/osteon_bg.wasm $(du -h www/pkg/osteon_bg.wasm | cut -f1)" >&2
