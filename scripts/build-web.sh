#!/usr/bin/env bash
# Builds the wasm module and its JS bindings (release profile):
# - www/pkg: the default single-threaded build, used everywhere (file://, any server);
# - www/pkg-threads: the threaded build (`parallel` feature: rayon on wasm-bindgen-rayon's
#   Web Workers over one shared memory), used by the compute worker only when the page is
#   cross-origin isolated (scripts/serve.py sends COOP/COEP).
# The threaded build needs the standard library rebuilt with atomics (rust-src; stable
# rustc with RUSTC_BOOTSTRAP=1 for -Z build-std). OSTEON_THREADS=0 skips it; when it
# cannot be built the single-threaded build is kept and the app runs on it.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --lib --target wasm32-unknown-unknown
wasm-bindgen --target web --out-dir www/pkg --no-typescript target/wasm32-unknown-unknown/release/osteon.wasm
echo "[build] www/pkg/osteon_bg.wasm $(du -h www/pkg/osteon_bg.wasm | cut -f1)" >&2

[[ "${OSTEON_THREADS:-1}" == 0 ]] && { rm -rf www/pkg-threads; exit 0; }
# RUSTFLAGS replaces .cargo/config.toml's list, so +simd128 is repeated here.
# Shared memory is not implied by +atomics (rustc ≥ 1.92): ask the linker for it, for an
# imported memory of up to 4 GiB (the default cap would be 1 GiB), and for the TLS symbols
# wasm-bindgen uses to give each thread its own thread-locals and stack.
THREAD_FLAGS=(-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128
  -C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=4294967296
  -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size
  -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base)
# Its own target dir: other RUSTFLAGS would otherwise rebuild the default build each time.
if RUSTC_BOOTSTRAP=1 RUSTFLAGS="${THREAD_FLAGS[*]}" cargo build --release --lib \
    --target wasm32-unknown-unknown --features parallel -Z build-std=panic_abort,std \
    --target-dir target/threads 2> target/build-threads.log \
  && wasm-bindgen --target web --out-dir www/pkg-threads.new --no-typescript \
    target/threads/wasm32-unknown-unknown/release/osteon.wasm; then
  # wasm-bindgen-rayon's pool workers import the bindings as '../../..' (a bundler's
  # package root); served as plain files, that is a directory: name the module.
  helper=$(find www/pkg-threads.new/snippets -name workerHelpers.js)
  grep -q "import('../../..')" "$helper" || { echo "[build] wasm-bindgen-rayon's worker import changed: check $helper" >&2; exit 1; }
  sed -i "s#import('../../..')#import('../../../osteon.js')#" "$helper"
  rm -rf www/pkg-threads && mv www/pkg-threads.new www/pkg-threads
  echo "[build] www/pkg-threads/osteon_bg.wasm $(du -h www/pkg-threads/osteon_bg.wasm | cut -f1)" >&2
else
  rm -rf www/pkg-threads www/pkg-threads.new
  tail -5 target/build-threads.log >&2
  echo "[build] the threaded build failed (log: target/build-threads.log); the app runs single-threaded" >&2
fi
