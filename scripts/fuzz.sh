#!/usr/bin/env bash
# Fuzz one input reader for a given time (cargo-fuzz / libFuzzer, nightly toolchain).
#
# Usage: scripts/fuzz.sh TARGET SECONDS
#   TARGET: dicom_file | dicom_series | mesh_stl | mesh_obj | mesh_3mf | design_link | mesh_link
#
# The seed corpus is built at run time into fuzz/seeds/TARGET (never committed: shared
# data carries its own licences) from the edge_* folders of ../shared/data, when present,
# and from the project's own fixtures: `osteon demo` slices, small hand-written meshes
# converted by `osteon mesh`, and links made by `osteon link encode` / `osteon link implant`. New inputs found
# go to fuzz/corpus/TARGET, crashes to fuzz/artifacts/TARGET. Runs at nice 19 (shared
# machine). Prints the number of executions; exits non-zero when a crash or hang is found.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS="dicom_file dicom_series mesh_stl mesh_obj mesh_3mf design_link mesh_link"
TARGET="${1:-}"
SECONDS_TO_RUN="${2:-}"
if [[ -z "$TARGET" || -z "$SECONDS_TO_RUN" || ! " $TARGETS " =~ " $TARGET " ]]; then
  echo "usage: scripts/fuzz.sh TARGET SECONDS   (TARGET: $TARGETS)" >&2
  exit 2
fi
log() { printf '[fuzz] %s\n' "$*" >&2; }

if ! rustup toolchain list | grep -q '^nightly'; then
  log "installing the nightly toolchain (libFuzzer needs it)"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  log "installing cargo-fuzz (a few minutes, once)"
  cargo install cargo-fuzz
fi

DATA=../shared/data
SEEDS="fuzz/seeds/$TARGET"
WORK="fuzz/seeds/.work"
SEP=$'\n--osteon-fuzz-file--\n' # must match osteon_fuzz::FILE_SEPARATOR
MAX_SEED_BYTES=$((2 << 20))     # larger seeds slow every execution down
rm -rf "$SEEDS" "$WORK"
mkdir -p "$SEEDS" "$WORK" "fuzz/corpus/$TARGET"

OSTEON=target/debug/osteon
need_cli() {
  if [[ ! -x "$OSTEON" ]]; then
    log "building the osteon CLI for the fixtures"
    nice -n 19 cargo build --quiet --bin osteon
  fi
}
# JPEG 2000 files (transfer syntaxes 1.2.840.10008.1.2.4.90-93) are left out of the
# seeds unless FUZZ_J2K=1: openjp2 0.6.1 (opj_tcd_code_block_dec_deallocate) calls
# dealloc on a null pointer for every valid J2K file; nightly's debug-assertion std
# aborts on that before the allocator runs. Release builds reach free(NULL), which the
# system allocator and src/wasm_alloc.rs both ignore, so users are not affected; the
# fuzzer would stop at the first seed, though.
is_skipped_j2k() {
  [[ "${FUZZ_J2K:-0}" != 1 ]] && grep -aq '1\.2\.840\.10008\.1\.2\.4\.9[0-3]' "$1"
}
# Copy a file into the seed folder under a unique name when it is small enough.
seed() {
  local f="$1"
  [[ -f "$f" ]] || return 0
  if is_skipped_j2k "$f"; then return 0; fi
  (($(stat -c %s "$f") <= MAX_SEED_BYTES)) || return 0
  cp "$f" "$SEEDS/$(printf '%s' "$f" | sha256sum | cut -c1-16)"
}
# Join files with the separator into one multi-file seed.
join_seed() {
  local out="$1"
  shift
  : >"$out"
  local first=1
  for f in "$@"; do
    if is_skipped_j2k "$f"; then continue; fi
    ((first)) || printf '%s' "$SEP" >>"$out"
    cat "$f" >>"$out"
    first=0
  done
  seed "$out"
}

demo_slices() {
  need_cli
  "$OSTEON" demo --out "$WORK/demo" >/dev/null
  ls "$WORK"/demo/dicom/*.dcm | sort
}

small_meshes() {
  need_cli
  # A tetrahedron as ASCII STL and OBJ; the CLI converts it to binary STL, OBJ and 3MF,
  # and remeshing gives a denser, still small, mesh.
  cat >"$WORK/tetra.stl" <<'EOF'
solid tetra
facet normal 0 0 -1
 outer loop
  vertex 0 0 0
  vertex 0 10 0
  vertex 10 0 0
 endloop
endfacet
facet normal 0 -1 0
 outer loop
  vertex 0 0 0
  vertex 10 0 0
  vertex 0 0 10
 endloop
endfacet
facet normal -1 0 0
 outer loop
  vertex 0 0 0
  vertex 0 0 10
  vertex 0 10 0
 endloop
endfacet
facet normal 1 1 1
 outer loop
  vertex 10 0 0
  vertex 0 10 0
  vertex 0 0 10
 endloop
endfacet
endsolid tetra
EOF
  cat >"$WORK/tetra.obj" <<'EOF'
# tetrahedron
o tetra
v 0 0 0
v 10 0 0
v 0 10 0
v 0 0 10
vn 0 0 1
vt 0 0
f 1 3 2
f 1/1 2/1 4/1
f 1//1 4//1 3//1
f -3 -2 -1
EOF
  "$OSTEON" mesh mirror "$WORK/tetra.stl" --out "$WORK/tetra_bin.stl" >/dev/null
  "$OSTEON" mesh mirror "$WORK/tetra.stl" --out "$WORK/tetra_w.obj" >/dev/null
  "$OSTEON" mesh mirror "$WORK/tetra.stl" --out "$WORK/tetra.3mf" >/dev/null
  "$OSTEON" mesh remesh "$WORK/tetra.stl" --out "$WORK/dense.stl" --edge 4 >/dev/null
  "$OSTEON" mesh mirror "$WORK/dense.stl" --out "$WORK/dense.obj" >/dev/null
  "$OSTEON" mesh mirror "$WORK/dense.stl" --out "$WORK/dense.3mf" >/dev/null
}

case "$TARGET" in
dicom_file)
  if [[ -d "$DATA" ]]; then
    while IFS= read -r f; do seed "$f"; done < <(find "$DATA"/edge_* -type f -name '*' ! -name '*.md' | sort)
  fi
  mapfile -t slices < <(demo_slices)
  seed "${slices[0]}"
  seed "${slices[${#slices[@]} / 2]}"
  ;;
dicom_series)
  if [[ -d "$DATA" ]]; then
    # Every edge folder (and sub-folder) read as one drop, capped in size by seed().
    n=0
    while IFS= read -r d; do
      mapfile -t files < <(find "$d" -maxdepth 1 -type f ! -name '*.md' | sort | head -n 6)
      ((${#files[@]})) || continue
      join_seed "$WORK/edge_$n" "${files[@]}"
      n=$((n + 1))
    done < <(find "$DATA"/edge_* -type d | sort)
  fi
  mapfile -t slices < <(demo_slices)
  join_seed "$WORK/demo3" "${slices[@]:40:3}"
  join_seed "$WORK/demo2" "${slices[@]:0:2}"
  # A zip of two slices, as a user might drop an archive.
  (cd "$WORK/demo/dicom" && python3 -c 'import sys,zipfile
z=zipfile.ZipFile("../../demo.zip","w",zipfile.ZIP_DEFLATED)
[z.write(f) for f in sys.argv[1:]]' "$(basename "${slices[10]}")" "$(basename "${slices[11]}")") &&
    seed "$WORK/demo.zip" || true
  ;;
mesh_stl)
  small_meshes
  for f in tetra.stl tetra_bin.stl dense.stl; do seed "$WORK/$f"; done
  ;;
mesh_obj)
  small_meshes
  for f in tetra.obj tetra_w.obj dense.obj; do seed "$WORK/$f"; done
  ;;
mesh_3mf)
  small_meshes
  for f in tetra.3mf dense.3mf; do seed "$WORK/$f"; done
  ;;
design_link)
  need_cli
  cat >"$WORK/design.json" <<'EOF'
{"study_fingerprint":"fa28e97d9aed18fc030cf4c1cda8e96de26f058ff5291cae25eff50c3704479b","app_version":"0.1.0",
 "ops":[{"op":"open_demo","seed":7},{"op":"load_series"},{"op":"set_threshold","lower_hu":226,"upper_hu":3071},
 {"op":"auto_bones","lower_hu":226,"upper_hu":3071},{"op":"grow","seed":[120,160,40],"lower_hu":300,"upper_hu":2000,"name":"talus"},
 {"op":"split_part","label":1,"seeds":[[1,2,3],[4,5,6]]},{"op":"delete_part","label":2},{"op":"rename_part","label":1,"name":"left talus"}],
 "view":{"cursor":[120,160,40],"window_hu":[400.0,1800.0],"orbit":[25.0,20.0,1.0]}}
EOF
  # A schema-2 design: articular marks, print ops and a build plate with supports.
  cat >"$SEEDS/design_print.json" <<'EOF'
{"study_fingerprint":"fa28e97d9aed18fc030cf4c1cda8e96de26f058ff5291cae25eff50c3704479b","app_version":"0.1.0",
 "ops":[{"op":"open_demo","seed":7},{"op":"auto_bones","lower_hu":226,"upper_hu":3071},
 {"op":"suggest_articular","target":{"part":3},"iso_hu":720.0,"max_gap_mm":3.0},
 {"op":"mark_articular","target":{"part":3},"iso_hu":720.0,"stroke_mm":[[1.5,-2.25,30.0],[2.0,-2.0,30.5]],"radius_mm":3.0,"erase":false},
 {"op":"clear_articular","target":{"mesh":1}},
 {"op":"orient_print","target":{"part":3},"iso_hu":720.0,"critical_angle_deg":45.0,"directions":1000,"weights":[1.0,0.5,100.0],"rank":0,"rotate_deg":[0.0,0.0,0.0]},
 {"op":"print_supports","critical_angle_deg":45.0,"spacing_mm":1.5,"tip_radius_mm":0.25,"base_fraction":0.4,"sides":8,"penetration_mm":0.1,"articular_clearance_mm":0.5,"min_gap_mm":0.2,"style":"block","block":{"spacing_mm":1.5,"wall_mm":0.25,"tooth_pitch_mm":0.5,"tooth_height_mm":0.4,"perforations":true,"hole_height_mm":0.6,"hole_pitch_mm":1.2}},
 {"op":"build_plate","sizes_percent":[95.0,100.0,105.0],"coupons":2,"spacing_mm":10.0,"margin_mm":5.0,"machine_mm":[250.0,250.0,300.0],"scan":{"layer_um":30.0,"hatch_spacing_um":110.0,"laser_power_w":200.0,"scan_speed_mm_s":1000.0,"contour_count":2,"beam_offset_um":50.0,"chessboard":false,"size_mm":10.0,"rotation_deg":67.0},"supports":true}],
 "view":{"cursor":[120,160,40],"window_hu":[400.0,1800.0],"orbit":[25.0,20.0,1.0]}}
EOF
  "$OSTEON" link encode "$SEEDS/design_print.json" >"$SEEDS/link_print.txt"
  cp "$WORK/design.json" "$SEEDS/design.json"
  "$OSTEON" link encode "$WORK/design.json" >"$SEEDS/link.txt"
  printf 'https://osteon.example/#d=%s' "$(cut -c4- "$SEEDS/link.txt")" >"$SEEDS/url.txt"
  ;;
mesh_link)
  small_meshes
  # Each small mesh as a link (the text mode of the target) and as its inflated body
  # (the body mode), so the fuzzer starts from valid bodies as well as valid links.
  for f in tetra.stl dense.stl; do
    "$OSTEON" link implant "$WORK/$f" --name "${f%.stl}" 2>/dev/null >"$SEEDS/link_${f%.stl}.txt"
    python3 -c 'import base64,sys,zlib
t=open(sys.argv[1]).read().strip().split(".",1)[1]
b=base64.urlsafe_b64decode(t+"="*(-len(t)%4))[4:]
open(sys.argv[2],"wb").write(zlib.decompress(b,-15))' "$SEEDS/link_${f%.stl}.txt" "$SEEDS/body_${f%.stl}"
  done
  ;;
esac
rm -rf "$WORK"
log "$(ls "$SEEDS" | wc -l) seed(s) in $SEEDS; fuzzing $TARGET for $SECONDS_TO_RUN s"

LOG="fuzz/artifacts/$TARGET.log"
mkdir -p "fuzz/artifacts/$TARGET"
# Build first, then run the binary itself, so editing the sources while a run goes on
# does not rebuild under it. FUZZ_NO_BUILD=1 reuses the last build.
if [[ "${FUZZ_NO_BUILD:-0}" != 1 ]]; then
  (cd fuzz && nice -n 19 cargo +nightly fuzz build "$TARGET")
fi
BIN="fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release/$TARGET"
set +e
# -timeout: an input that takes longer than 20 s is reported as a hang.
# -rss_limit_mb: the readers must refuse what would need more memory than this.
nice -n 19 "$BIN" "fuzz/corpus/$TARGET" "$SEEDS" -artifact_prefix="fuzz/artifacts/$TARGET/" \
  -max_total_time="$SECONDS_TO_RUN" -timeout=20 -rss_limit_mb=2560 -print_final_stats=1 2>&1 |
  tee "$LOG" | grep -E 'Done|ERROR|SUMMARY|Test unit written|deadly signal|panicked' | tail -n 40
status=${PIPESTATUS[0]}
set -e
runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$LOG" | grep -oE '[0-9]+$' | tail -n 1)
echo "$TARGET: ${runs:-?} executions in ${SECONDS_TO_RUN} s (exit $status; log $LOG)"
exit "$status"
