#!/usr/bin/env bash
# Benchmarks in one run: Osteon native (`osteon bench`), Osteon wasm in headless Chromium
# (bench page, one page per kernel), and the Python peers (benches/peers.py, own venv) on
# the same generated data. Prints one table and the cost-growth study; writes
# target/bench/*.json. Not part of CI (timings on a shared machine are noisy).
# Env: RUNS (5), SIZE (512x512x400), ONLY (k1,k2), GROWTH=0 to skip the growth study,
# WASM=0 / PEERS=0 to skip those columns. THREADS=2 adds the threaded wasm build: each
# kernel in a bench worker on 1 thread (default build) and on 2 (threaded build), back to
# back, ROUNDS times (default 3), printed as a second table with the speed-up; and
# native `osteon bench --threads N` next to the serial native column. THREADS_ONLY
# (k1,k2; default ONLY) limits both thread comparisons to the kernels that use threads.
# `scripts/bench.sh --large [512x512x1000]`: instead, the large-study check — writes the
# study as DICOM files (~0.5 GB), loads it in the app in headless Chromium through the file
# input, runs Auto bones and Calculate parts, prints times and peak wasm memory
# (benches/large_study.mjs) and deletes the files.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--large" ]]; then
  LARGE="${2:-512x512x1000}"
  OUT=target/bench
  mkdir -p "$OUT"
  cargo build --release --bin osteon
  bash scripts/setup.sh --browser
  bash scripts/build-web.sh
  DATA="$OUT/large-$LARGE"
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  python3 -m http.server "$PORT" --bind 127.0.0.1 > /dev/null 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null; rm -rf "$DATA"' EXIT
  echo "[bench] writing the $LARGE study as DICOM files…" >&2
  rm -rf "$DATA" && ./target/release/osteon bench --write-data "$DATA" --size "$LARGE" --series-only
  echo "[bench] machine load before: $(uptime)" >&2
  rc=0
  BASE_URL="http://127.0.0.1:$PORT/" DATA="$DATA" node benches/large_study.mjs > "$OUT/large.json" || rc=$?
  echo "[bench] machine load after: $(uptime)" >&2
  python3 - "$OUT/large.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
raw = d["raw_int16_bytes"]
print(f"Large study: {d.get('study', '?')} ({d['files']} files, {d['file_bytes'] / 2**20:.0f} MiB); raw int16 volume {raw / 2**20:.0f} MiB; Chromium {d.get('user_agent')}")
print("| step | ms | worker wasm MiB | × int16 | page wasm MiB | × int16 | browser RSS peak MiB |")
print("|---|---:|---:|---:|---:|---:|---:|")
for s in d["steps"]:
    w, p = s.get("worker_wasm_bytes") or 0, s.get("page_wasm_bytes") or 0
    ms = s.get("ms", "–")
    print(f"| {s['step']}{' FAILED: ' + s['error'] if 'error' in s else ''} | {ms} | {w / 2**20:.0f} | {w / raw:.2f} | {p / 2**20:.0f} | {p / raw:.2f} | {(s.get('browser_rss_peak_bytes') or 0) / 2**20:.0f} |")
print("failed:", d["failed"], "errors:", d["errors"] + d["console_errors"])
PY
  exit $rc
fi
RUNS="${RUNS:-5}"
SIZE="${SIZE:-512x512x400}"
ONLY="${ONLY:-}"
OUT=target/bench
mkdir -p "$OUT"
only_flag=()
[[ -n "$ONLY" ]] && only_flag=(--only "$ONLY")
THREADS_ONLY="${THREADS_ONLY:-$ONLY}"
threads_only_flag=()
[[ -n "$THREADS_ONLY" ]] && threads_only_flag=(--only "$THREADS_ONLY")
cargo build --release --bin osteon --features parallel # serial unless --threads
BIN=./target/release/osteon
echo "[bench] machine load before: $(uptime)" >&2
echo "[bench] native…" >&2
"$BIN" bench --json --runs "$RUNS" --size "$SIZE" "${only_flag[@]}" > "$OUT/native.json"
if [[ "${THREADS:-1}" != 1 ]]; then
  echo "[bench] native on $THREADS threads…" >&2
  "$BIN" bench --json --runs "$RUNS" --size "$SIZE" --threads "$THREADS" "${threads_only_flag[@]}" > "$OUT/native-threads.json"
fi
if [[ "${WASM:-1}" != 0 ]]; then
  bash scripts/setup.sh --browser
  bash scripts/build-web.sh
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # Cross-origin isolated, so the threaded build can run (THREADS).
  python3 scripts/serve.py "$PORT" > /dev/null 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null' EXIT
  sleep 0.5
  echo "[bench] wasm…" >&2
  BASE_URL="http://127.0.0.1:$PORT/" RUNS="$RUNS" SIZE="$SIZE" ONLY="$ONLY" node benches/wasm_bench.mjs > "$OUT/wasm.json"
  if [[ "${THREADS:-1}" != 1 ]]; then
    echo "[bench] wasm, 1 vs $THREADS threads (load before: $(cut -d' ' -f1-3 /proc/loadavg))…" >&2
    BASE_URL="http://127.0.0.1:$PORT/" RUNS="$RUNS" SIZE="$SIZE" ONLY="$THREADS_ONLY" THREADS="1,$THREADS" ROUNDS="${ROUNDS:-3}" \
      node benches/wasm_bench.mjs > "$OUT/wasm-threads.json"
    echo "[bench] load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  fi
else
  echo '{"results": []}' > "$OUT/wasm.json"
fi
if [[ "${PEERS:-1}" != 0 ]]; then
  echo "[bench] peer data + peers…" >&2
  rm -rf "$OUT/data" && "$BIN" bench --write-data "$OUT/data" --size "$SIZE"
  python3 benches/peers.py "$OUT/data" --runs "$RUNS" ${ONLY:+--only "$ONLY"} > "$OUT/peers.json" || echo '{"results": []}' > "$OUT/peers.json"
else
  echo '{"results": []}' > "$OUT/peers.json"
fi
echo "[bench] machine load after: $(uptime)" >&2
python3 - "$OUT" "$(uptime)" <<'PY'
import json, sys, platform, datetime, os
out, load = sys.argv[1], sys.argv[2]
def load_json(n):
    d = json.load(open(f"{out}/{n}.json"))
    return d, {r["kernel"]: r for r in d.get("results", [])}
nd, native = load_json("native")
wd, wasm = load_json("wasm")
pd, _ = load_json("peers")
# A kernel may have several peers (one row each).
peer_list = {}
for r in pd.get("results", []):
    peer_list.setdefault(r["kernel"], []).append(r)
peers = {k: v[0] for k, v in peer_list.items()}
order = [k["name"] for k in nd.get("kernels", [])] + [k for k in peers if k not in native]
size = "x".join(map(str, nd.get("size", [])))
print(f"Osteon benchmarks {datetime.date.today()}, {platform.machine()}, {os.cpu_count()} cores, study {size}, median of {os.environ.get('RUNS', '5')} runs")
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?") if os.path.exists("/proc/cpuinfo") else "?"
print(f"cpu: {cpu}; wasm: {wd.get('userAgent', '–')}")
print(f"load: {load.strip()}")
def ms(r):
    if r is None: return "–"
    if "error" in r: return "n/a (" + r["error"][:60] + ")"
    v = r["median_ms"]
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"
def ratio(a, b):
    if not a or not b or "error" in a or "error" in b or b["median_ms"] <= 0: return "–"
    return f"{a['median_ms'] / b['median_ms']:.2f}"
raw = wd.get("rawInt16Bytes")
rows = [("kernel", "Osteon native ms", "Osteon wasm ms", "wasm/native", "peer", "peer ms", "native/peer", "wasm/peer", "wasm MiB", "mem/int16")]
for k in order:
    n, w, p = native.get(k), wasm.get(k), peers.get(k)
    if n is None and w is None and p is None:
        continue
    mem = w.get("memory_bytes") if w else None
    rows.append((k, ms(n), ms(w), ratio(w, n), p["peer"] if p else "–", ms(p), ratio(n, p), ratio(w, p),
                 f"{mem / 2**20:.0f}" if mem else "–", f"{mem / raw:.2f}" if (mem and raw) else "–"))
    for q in peer_list.get(k, [])[1:]:
        rows.append((k, ms(n), ms(w), ratio(w, n), q["peer"], ms(q), ratio(n, q), ratio(w, q), "", ""))
widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
for i, r in enumerate(rows):
    print("| " + " | ".join(c.ljust(widths[j]) for j, c in enumerate(r)) + " |")
    if i == 0:
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for k, r in native.items():
    if "input" in r: print(f"  {k}: {r['input']}")
# ICP against open3d: iterations and both results scored both ways (benches/peers.py).
for k, p in peers.items():
    d = p.get("detail")
    if not d or "error" in d or "osteon_scored" not in d:
        continue
    o, s = d["o3d_scored"], d["osteon_scored"]
    print(f"  {k} vs open3d: iterations {d['osteon_iterations']} ({d['osteon_coarse_iterations']} coarse) vs {d['o3d_iterations']}; "
          f"trimmed point-to-plane RMS {s['trimmed_point_to_plane_rms_mm']:.4f} vs {o['trimmed_point_to_plane_rms_mm']:.4f} mm; "
          f"open3d inlier RMSE {s['o3d_inlier_rmse_mm']:.4f} vs {o['o3d_inlier_rmse_mm']:.4f} mm; "
          f"between the transforms {d['rotation_between_deg']:.3f}°, samples moved {d['displacement_mean_mm']:.3f} mm mean / {d['displacement_max_mm']:.3f} max")
# Per-step breakdown of the end-to-end kernels (medians of each step).
for k in order:
    n, w = native.get(k) or {}, wasm.get(k) or {}
    if not (n.get("steps") or w.get("steps")):
        continue
    print(f"\n{k}: per step (ms)")
    print("| step | native | wasm |")
    print("|---|---:|---:|")
    names = [s["step"] for s in (n.get("steps") or w.get("steps"))]
    for name in names:
        nv = next((s["median_ms"] for s in n.get("steps", []) if s["step"] == name), None)
        wv = next((s["median_ms"] for s in w.get("steps", []) if s["step"] == name), None)
        print(f"| {name} | {'–' if nv is None else f'{nv:.0f}'} | {'–' if wv is None else f'{wv:.0f}'} |")
    print(f"| total | {ms(n or None)} | {ms(w or None)} |")
PY
if [[ -f "$OUT/wasm-threads.json" && "${THREADS:-1}" != 1 ]]; then
  python3 - "$OUT/wasm-threads.json" "$OUT/native.json" "$OUT/native-threads.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n1 = {r["kernel"]: r for r in json.load(open(sys.argv[2])).get("results", [])}
nn = {r["kernel"]: r for r in json.load(open(sys.argv[3])).get("results", [])}
print("\nNative, serial vs threads (same run as the tables above):")
print("| kernel | native 1 thread ms | native threads ms | speed-up |")
print("|---|---:|---:|---:|")
for k, a in n1.items():
    b = nn.get(k)
    if b and "median_ms" in a and "median_ms" in b:
        print(f"| {k} | {a['median_ms']:.0f} | {b['median_ms']:.0f} | {a['median_ms'] / b['median_ms']:.2f} |")
counts = list(d["by_threads"])
one, many = counts[0], counts[-1]
print(f"\nThreaded wasm (bench worker; {one} thread = default build, {many} threads = threaded build; "
      f"median of the per-round medians, rounds back to back):")
print(f"| kernel | {one} thread ms | {many} threads ms | speed-up | pool threads used | rounds ({one} / {many}) |")
print("|---|---:|---:|---:|---:|---|")
fmt = lambda v: f"{v:.0f}" if v >= 100 else f"{v:.1f}"
steps = []
for a, b in zip(d["by_threads"][one], d["by_threads"][many]):
    if "error" in a or "error" in b:
        print(f"| {a['kernel']} | {a.get('error', '')[:50]} | {b.get('error', '')[:50]} | – | – | |")
        continue
    rounds = f"{' '.join(fmt(v) for v in a['rounds_ms'])} / {' '.join(fmt(v) for v in b['rounds_ms'])}"
    print(f"| {a['kernel']} | {fmt(a['median_ms'])} | {fmt(b['median_ms'])} | {a['median_ms'] / b['median_ms']:.2f} | {b.get('threads_used', '–')} | {rounds} |")
    if a.get("steps"):
        steps.append((a, b))
for a, b in steps:
    print(f"\n{a['kernel']}, per step (ms): | step | {one} thread | {many} threads | speed-up |")
    for sa, sb in zip(a["steps"], b["steps"]):
        print(f"| {sa['step']} | {fmt(sa['median_ms'])} | {fmt(sb['median_ms'])} | {sa['median_ms'] / max(sb['median_ms'], 1e-9):.2f} |")
PY
fi
if [[ "${GROWTH:-1}" != 0 ]]; then
  echo
  echo "Cost growth (native, same field of view, finer grids; exponent 1 = linear in voxels):"
  "$BIN" bench --growth --runs 3 "${only_flag[@]}"
fi
