#!/usr/bin/env bash
# Builds Osteon (installing the toolchain pieces it lacks) and serves it on localhost,
# cross-origin isolated (scripts/serve.py), so the compute worker runs the threaded build.
# PORT=8080 by default. The demo study is generated in the browser: no data download.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build-web.sh
PORT="${PORT:-8080}"
echo "Osteon is at http://127.0.0.1:${PORT}/  (Ctrl-C stops the server)"
exec python3 scripts/serve.py "$PORT"
