#!/usr/bin/env bash
# Runs every test tier: native cargo tests (incl. the real-data tier when ../shared/data
# exists), wasm tests in headless Chromium (wasm-pack), and end-to-end Playwright tests
# against the served app (tests/e2e/threads.test.mjs serves it cross-origin isolated
# itself, for the threaded build). Installs what it needs first. Fails when any tier fails or
# ran zero tests. The last line is "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LOGS="$ROOT/target/test-logs"
mkdir -p "$LOGS"

bash scripts/setup.sh --browser || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

total_pass=0
total_fail=0
tier_problems=()

# Sums "test result: ... N passed; M failed" lines of cargo / wasm-bindgen-test output.
sum_cargo() {
  awk '/^test result: / { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
       END { print p + 0, f + 0 }' "$1"
}

record() { # tier rc pass fail
  local tier=$1 rc=$2 pass=$3 fail=$4
  echo "[$tier] $pass passed, $fail failed (exit $rc)"
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail))
  if [[ $rc -ne 0 && $fail -eq 0 ]]; then total_fail=$((total_fail + 1)); tier_problems+=("$tier exited $rc"); fi
  if [[ $pass -eq 0 ]]; then total_fail=$((total_fail + 1)); tier_problems+=("$tier ran zero tests"); fi
}

echo "== native: cargo test (with the parallel feature: tests/parallel_identity.rs compares it with serial) =="
cargo test --no-fail-fast --features parallel 2>&1 | tee "$LOGS/native.log" | grep -E '^(test result|running|.*(FAILED|panicked)|skipped: )' 
rc=${PIPESTATUS[0]}
read -r p f < <(sum_cargo "$LOGS/native.log")
record native "$rc" "$p" "$f"

echo "== wasm: headless Chromium (wasm-pack) =="
wasm-pack test --headless --chrome -- --test wasm_browser 2>&1 | tee "$LOGS/wasm.log" | grep -E '^(test result|running|.*(FAILED|panicked|error))'
rc=${PIPESTATUS[0]}
read -r p f < <(sum_cargo "$LOGS/wasm.log")
record wasm "$rc" "$p" "$f"

echo "== e2e: Playwright against the served app =="
if bash scripts/build-web.sh > "$LOGS/build-web.log" 2>&1 && bash scripts/build-single.sh >> "$LOGS/build-web.log" 2>&1; then
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  python3 -m http.server "$PORT" --bind 127.0.0.1 > "$LOGS/server.log" 2>&1 &
  server=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/" > /dev/null && break; sleep 0.1; done
  BASE_URL="http://127.0.0.1:$PORT/" node --test --test-reporter=tap --test-concurrency=1 tests/e2e/ 2>&1 | tee "$LOGS/e2e.log" | grep -E '^(ok|not ok|# (pass|fail)|\s+(error|message):)'
  rc=${PIPESTATUS[0]}
  kill "$server" 2> /dev/null
  p=$(grep -E '^# pass ' "$LOGS/e2e.log" | awk '{print $3}' | tail -1)
  f=$(grep -E '^# fail ' "$LOGS/e2e.log" | awk '{print $3}' | tail -1)
  record e2e "$rc" "${p:-0}" "${f:-0}"
else
  tail -20 "$LOGS/build-web.log"
  record e2e 1 0 0
fi

for problem in "${tier_problems[@]}"; do echo "problem: $problem"; done
echo "$total_pass passed, $total_fail failed"
[[ $total_fail -eq 0 ]]
