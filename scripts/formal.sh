#!/usr/bin/env bash
# Bounded proofs of the handshake rules of a generated accelerator (tests/formal/hdx_formal.sv
# states them on the top-level ports): generates the tree of each configuration with hdx rtl,
# reads it with the harness into Yosys (read_verilog -formal), bit-blasts the model to an
# AIGER circuit (the assertions become bad-state outputs, the assumptions invariant
# constraints) and runs ABC's SAT-based bounded model checker (yosys-abc: fold; bmc3) for
# DEPTH cycles from reset (default 20), one run per group of rules (1 read channel, 2 write
# channel, 3 commands, 4 counters). A failing rule's trace is replayed on the word-level model
# of the same design with yosys-smtbmc and z3, which prints the rule's line and writes the
# counterexample as VCD, and the script exits 1. A run that passes FORMAL_TIMEOUT seconds
# (default: none) is stopped and reported with the number of cycles it completed; the script
# then exits 3. --mutant checks the checker: it moves the read address of a stalled request,
# which group 1 must catch.
#
# Group 3 (the command rules) also proves four proof aids that read internal state of the load
# and store engines (see the harness's header): its dut_* wires are connected here, after
# flattening, to the signals listed in `probes`. A renamed signal makes Yosys fail.
#
# The products of multipliers wider than 8x8 bits (the requantization's 32x32 multiply, pure
# data) are cut: each becomes a free value in every cycle. That only adds behaviours, so a
# rule proven with the cut holds without it. Undefined values (out-of-range selects) become
# free values in every cycle too, and registers without reset start at any value.
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
  probes=""
  for p in ld_done=u_ld.done_q ld_cur=u_ld.cur_valid_q st_done=u_st.done_q st_cur=u_st.cur_valid_q \
           st_pix=u_st.pix_q st_slot=u_st.slot_q st_last=u_st.last_pix_q \
           st_v0=u_st.s0_valid_q st_v1=u_st.s1_valid_q st_v2=u_st.s2_valid_q st_v3=u_st.s3_valid_q \
           st_l0=u_st.s0_last_q st_l1=u_st.s1_last_q st_l2=u_st.s2_last_q st_l3=u_st.s3_last_q; do
    probes+="connect -set dut_${p%%=*} u_dut.u_core.${p#*=}; "
  done
  for g in $groups; do
    t0=$(date +%s%N)
    # The word-level model (write_smt2) replays a counterexample; the AIGER model, the same
    # design after mapping the memories to registers and every cell to AND and NOT gates, is
    # what ABC proves.
    (cd "$rtl" && yosys -q -l "../../yosys$g.log" -p "read_verilog -formal -sv -I. $defs -DHDX_GROUP=$g $files $harness;
        prep -flatten -top hdx_formal; $probes cutpoint t:\$mul r:B_WIDTH>=9 %i;
        async2sync; dffunmap; write_smt2 ../../model$g.smt2;
        setattr -unset keep; delete -output; memory_map; opt -full; techmap; opt -fast;
        setundef -anyseq; opt -fast; dffunmap; abc -g AND -fast; opt_clean;
        write_aiger -I -B -zinit -no-startoffset -map ../../model$g.aim ../../model$g.aig") >/dev/null 2>&1 ||
      { echo "$name: Yosys failed, see $dir/yosys$g.log" >&2; exit 2; }
    t1=$(date +%s%N)
    rc=0
    bmc="bmc3 -F $depth"
    [ "$limit" != 0 ] && bmc+=" -T $limit"
    rm -f "$dir/trace$g.aiw"
    timeout "$([ "$limit" = 0 ] && echo 0 || echo $((limit + 60)))" yosys-abc -c \
      "read_aiger $dir/model$g.aig; fold; strash; $bmc -v; write_cex -a $dir/trace$g.aiw" \
      >"$dir/abc$g.log" 2>&1 || rc=$?
    t2=$(date +%s%N)
    log=$(cat "$dir/abc$g.log")
    what="$name ($top) group $g, ${names[$g]}"
    ms="Yosys $(((t1 - t0) / 1000000)) ms, yosys-abc bmc3 $(((t2 - t1) / 1000000)) ms"
    # Frames (cycles from reset) proven: ABC's last word, or else one more than the last frame
    # its progress lines (-v) mark as done ("N + :").
    proven=$(sed -n 's/^No output asserted in \([0-9]*\) frames.*/\1/p' <<<"$log" | tail -1)
    [ -z "$proven" ] && proven=$(sed -n 's/^ *\([0-9][0-9]*\) + :.*/\1/p' <<<"$log" | tail -1) &&
      [ -n "$proven" ] && proven=$((proven + 1))
    failed=$(sed -n 's/^Output [0-9]* of miter .* was asserted in frame \([0-9]*\)\..*/\1/p' <<<"$log")
    if [ $rc -eq 0 ] && [ -n "$failed" ] && [ -s "$dir/trace$g.aiw" ]; then
      status=1
      # The witness: a line of initial register values (the zero-initialised AIGER latches;
      # made don't-care, the replay takes the model's own initial values), then one line of
      # inputs per cycle.
      sed -i '1s/./x/g' "$dir/trace$g.aiw"
      rc=0
      yosys-smtbmc -s z3 --unroll --noprogress --dump-vcd "$dir/counterexample$g.vcd" \
        --aig "$dir/model$g.aim:$dir/trace$g.aiw" --aig-noheader "$dir/model$g.smt2" \
        >"$dir/smtbmc$g.log" 2>&1 || rc=$?
      t3=$(date +%s%N)
      ms+=", replay with yosys-smtbmc and z3 $(((t3 - t2) / 1000000)) ms"
      echo "$what: FAILED in step $failed; $ms"
      rlog=$(cat "$dir/smtbmc$g.log")
      grep -E "Assert failed|rror" <<<"$rlog" | head -5
      if grep -q "Status: FAILED" <<<"$rlog" && [ -f "$dir/counterexample$g.vcd" ]; then
        echo "counterexample: $dir/counterexample$g.vcd"
      else
        echo "$name: the counterexample of ABC did not replay, see $dir/abc$g.log and $dir/smtbmc$g.log" >&2
        status=2
      fi
    elif [ $rc -eq 0 ] && [ "$proven" = "$depth" ]; then
      echo "$what: holds for $depth cycles from reset; $ms"
    elif [ $rc -eq 0 ] && grep -q "Resource limit reached (timeout" <<<"$log" || [ $rc -eq 124 ]; then
      echo "$what: holds for ${proven:-0} cycles from reset; stopped after $limit s in step ${proven:-0}; $ms"
      [ $status -eq 0 ] && status=3
    else
      echo "$name: yosys-abc failed, see $dir/abc$g.log" >&2
      exit 2
    fi
  done
done
exit $status
