#!/usr/bin/env bash
# Model-vs-synthesis area (issue 12, item 4; bench/RESULTS.md section 10). Synthesizes each
# accelerator with `hdx rtl --synth` (skipped when OUT/<name>/synth/report.json exists, so a
# run can be resumed), asks `hdx cost` for the model's area (of any network: bench/rtl/area_net.json, one small
# convolution that maps onto every configuration), and prints the comparison and
# the least-squares fit of the model's standard-cell coefficients. Usage:
#   bench/rtl/area.sh HDX OUT FIT_NAMES ACCEL.json...
# FIT_NAMES: comma-separated config names used in the fit; the others are held out.
# Example (the configurations of RESULTS.md are in bench/rtl/area/):
#   bench/rtl/area.sh build/cli/hdx out/area ws_2x2,ws_4x4,ws_8x8,rs_2x2,rs_4x4 bench/rtl/area/*.json
set -euo pipefail
hdx=$1 out=$2 fit=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
for acc in "$@"; do
  name=$(basename "$acc" .json)
  dir="$out/$name"
  if [ ! -f "$dir/synth/report.json" ]; then
    t0=$(date +%s)
    "$hdx" rtl --accel "$acc" --out "$dir" --force --synth --no-lint >"$out/$name.log" 2>&1 || true
    echo "$name: synthesis $(( $(date +%s) - t0 )) s" >>"$out/times.txt"
    [ -f "$dir/synth/report.json" ] || { echo "$name: synthesis failed, see $out/$name.log"; exit 1; }
  fi
  "$hdx" cost --network "$here/area_net.json" --accel "$acc" \
    --json "$dir/cost.json" >/dev/null
  cp "$acc" "$dir/accel.json"
done
python3 "$here/area.py" "$here/../../techlib/hdx_sram45.json" "$fit" "$out" \
  $(for acc in "$@"; do basename "$acc" .json; done)
