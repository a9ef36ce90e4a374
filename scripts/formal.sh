#!/usr/bin/env bash
# Bounded proofs of the handshake rules of a generated accelerator (tests/formal/hdx_formal.sv
# states them on the top-level ports): generates the tree of each configuration with hdx rtl,
# reads it with the harness into Yosys (read_verilog -formal) and runs yosys-smtbmc with z3
# for DEPTH cycles from reset (default 20), one run per group of rules (1 read channel, 2 write
# channel, 3 commands, 4 counters). A failing rule prints its line and the counterexample
# trace as VCD, and the script exits 1. A run that passes FORMAL_TIMEOUT seconds (default:
# none) is stopped and reported with the last step it completed; the script then exits 3.
# --mutant checks the checker: it moves the read address of a stalled request, which group 1
# must catch.
#
# The products of multipliers wider than 8x8 bits (the requantization's 32x32 multiply, pure
# data) are cut: each becomes a free value in every cycle. That only adds behaviours, so a
# rule proven with the cut holds without it, and it keeps z3 from bit-blasting the products.
# yosys-smtbmc --unroll expands the model before z3 sees it, which z3 4.8 needs for the
# memories' masked writes.
#
#   scripts/formal.sh [--mutant] [DEPTH] [CONFIG.json...]
#   (default configurations: tests/formal/ws_2x2.json tests/formal/rs_2x2.json)
set -euo pipefail
cd "$(dirname "$0")/.."
mutant=""
groups=${FORMAL_GROUPS:-1 2 3 4}
if [ "${1:-}" = --mutant ]; then
  mutant=" -DHDX_FORMAL_MUTANT"
  groups=1
  shift
fi
depth=${1:-20}
shift || true
configs=("$@")
[ ${#configs[@]} -eq 0 ] && configs=(tests/formal/ws_2x2.json tests/formal/rs_2x2.json)
hdx=${HDX:-build/cli/hdx}
[ -x "$hdx" ] || { echo "formal.sh: $hdx not built; run scripts/build.sh" >&2; exit 2; }
harness=$PWD/tests/formal/hdx_formal.sv
out=${FORMAL_OUT:-build/formal}
limit=${FORMAL_TIMEOUT:-0}
status=0
names=("" "read channel (rd_req_hold, rd_len)" "write channel (wr_hold, wr_len)"
       "commands (no_cmd_lost, no_cmd_replayed)" "counters (counter_monotonic)")
for cfg in "${configs[@]}"; do
  name=$(basename "$cfg" .json)${mutant:+-mutant}
  dir=$out/$name
  rm -rf "$dir"
  mkdir -p "$dir"
  "$hdx" rtl --accel "$cfg" --out "$dir/tree" >"$dir/rtl.log"
  rtl=$dir/tree/rtl
  top=$(basename "$(ls "$rtl"/*.signature.json)" .signature.json)
  width() { sed -n "s/.*input  *logic *\[\([0-9]*\):0\] $1,.*/\1/p" "$rtl/$top.sv"; }
  defs="-DSYNTHESIS -DHDX_TOP=$top -DLD_W=$(($(width ld_cmd_i) + 1))"
  defs+=" -DCMP_W=$(($(width cmp_cmd_i) + 1)) -DST_W=$(($(width st_cmd_i) + 1))"
  defs+=" -DBPC=$((($(width rd_rsp_data_i) + 1) / 8))$mutant"
  files=$(grep -v '^+' "$rtl/filelist.f" | tr '\n' ' ')
  for g in $groups; do
    t0=$(date +%s%N)
    (cd "$rtl" && yosys -q -l "../../yosys$g.log" -p "read_verilog -formal -sv -I. $defs -DHDX_GROUP=$g $files $harness;
        prep -flatten -top hdx_formal; cutpoint t:\$mul r:B_WIDTH>=9 %i;
        async2sync; dffunmap; write_smt2 ../../model$g.smt2") >/dev/null 2>&1 ||
      { echo "$name: Yosys failed, see $dir/yosys$g.log" >&2; exit 2; }
    t1=$(date +%s%N)
    rc=0
    timeout "${limit}" yosys-smtbmc -s z3 --unroll -t "$depth" \
      --dump-vcd "$dir/counterexample$g.vcd" "$dir/model$g.smt2" >"$dir/smtbmc$g.log" 2>&1 || rc=$?
    t2=$(date +%s%N)
    log=$(tr '\r' '\n' <"$dir/smtbmc$g.log")
    what="$name ($top) group $g, ${names[$g]}"
    ms="Yosys $(((t1 - t0) / 1000000)) ms, yosys-smtbmc with z3 $(((t2 - t1) / 1000000)) ms"
    if [ $rc -eq 0 ] && grep -q "Status: PASSED" <<<"$log"; then
      echo "$what: holds for $depth cycles from reset; $ms"
    elif [ $rc -eq 124 ]; then
      last=$(grep -o "Checking assertions in step [0-9]*" <<<"$log" | tail -1 | grep -o "[0-9]*$")
      echo "$what: holds for ${last:-0} cycles from reset; stopped after $limit s in step ${last:-0}; $ms"
      [ $status -eq 0 ] && status=3
    else
      status=1
      echo "$what: FAILED; $ms"
      grep -E "Assert failed|rror" <<<"$log" | head -5
      [ -f "$dir/counterexample$g.vcd" ] && echo "counterexample: $dir/counterexample$g.vcd"
    fi
  done
done
exit $status
