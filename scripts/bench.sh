#!/usr/bin/env bash
# Benchmarks in one run: Osteon native (`osteon bench`), Osteon wasm in headless Chromium
# (bench page), and the Python peer on the same generated series. Prints a table and
# writes target/bench/*.json. Not part of CI (timings on a shared machine are noisy).
set -euo pipefail
cd "$(dirname "$0")/.."
REPS="${REPS:-5}"
OUT=target/bench
mkdir -p "$OUT"
bash scripts/setup.sh --browser
cargo build --release --bin osteon
./target/release/osteon bench --json --reps "$REPS" > "$OUT/native.json"
bash scripts/build-web.sh
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$PORT" --bind 127.0.0.1 > /dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
sleep 0.5
BASE_URL="http://127.0.0.1:$PORT/" REPS="$REPS" node benches/wasm_bench.mjs > "$OUT/wasm.json"
rm -rf "$OUT/series" && ./target/release/osteon bench --write-series "$OUT/series"
if [[ ! -x "$OUT/venv/bin/python" ]] || ! "$OUT/venv/bin/python" -c 'import cc3d, skimage' 2>/dev/null; then
  python3 -m venv "$OUT/venv"
  "$OUT/venv/bin/pip" install --quiet pydicom numpy connected-components-3d scikit-image
fi
"$OUT/venv/bin/python" benches/peers.py "$OUT/series" --reps "$REPS" > "$OUT/peers.json"
python3 - "$OUT" <<'PY'
import json, sys, platform, datetime
out = sys.argv[1]
load = lambda n: {r["kernel"]: r for r in json.load(open(f"{out}/{n}.json"))["results"]}
native, wasm, peers = load("native"), load("wasm"), load("peers")
print(f"Osteon benchmarks, {datetime.date.today()}, {platform.machine()}, {platform.processor() or 'cpu'}")
print(f"{'kernel':<22}{'native ms':>11}{'wasm ms':>11}{'wasm/native':>13}{'peer ms':>11}  {'peer':<24}{'peer/wasm':>10}")
for k, n in native.items():
    w = wasm.get(k, {}).get("median_ms")
    p = peers.get(k, {})
    pm = p.get("median_ms")
    print(f"{k:<22}{n['median_ms']:>11.1f}{(w or float('nan')):>11.1f}{(w / n['median_ms'] if w else float('nan')):>13.2f}"
          f"{(pm or float('nan')):>11.1f}  {p.get('peer', '-'):<24}{(pm / w if (pm and w) else float('nan')):>10.2f}")
PY
