#!/usr/bin/env bash
# Fuzzes every reader of user files with libFuzzer (tests/fuzz): network.json,
# accelerator.json, spec.json, .npy, .npz, and the job and result files exchanged with the
# simulators. Builds the targets with clang (address and undefined-behaviour sanitizers) in
# build-fuzz/, seeds them from examples/, the JSON texts in tests/*.cpp and the binary
# writers (make_seeds), and runs each for SECONDS (default 600), FUZZ_PARALLEL (default 1)
# at a time. The corpora in build-fuzz/corpus/ grow from run to run. Prints one line per
# target: executions, and coverage as libFuzzer counts it (edges covered of the edges
# instrumented in the target, readers and the libraries they use); anything found is saved in build-fuzz/findings/TARGET/ and
# makes the script exit 1: reproduce with build-fuzz/fuzz_TARGET FILE, then make it a unit test.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] &&
  targets=(network_json accel_json spec_json npy npz sim_job sim_result icarus_result)
scripts/install-deps.sh
b=build-fuzz
cmake -S tests/fuzz -B "$b" -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$b" -j 2 >/dev/null

# Seeds, written afresh each run.
rm -rf "$b/seeds"
"$b/make_seeds" "$b/seeds"
mkdir -p "$b/seeds/network_json" "$b/seeds/accel_json" "$b/seeds/spec_json" "$b/seeds/tests_json"
cp examples/net_*.json "$b/seeds/network_json/"
cp examples/accel_*.json "$b/seeds/accel_json/"
cp examples/fmnist-*.json "$b/seeds/spec_json/"
# Every raw string literal R"(...)" of the tests: JSON documents and fragments.
D="$b/seeds/tests_json" perl -0777 -ne \
  'while (/R"\((.*?)\)"/sg) { open(my $f, ">", "$ENV{D}/" . ($ARGV =~ s{.*/}{}r) . "-" . ++$n . ".json"); print $f $1 }' \
  tests/*.cpp

run() {
  local t=$1 seeds=("$b/seeds/$1") opts=()
  case $t in
    *_json) seeds+=("$b/seeds/tests_json") opts+=(-dict=tests/fuzz/json.dict) ;;
  esac
  mkdir -p "$b/corpus/$t" "$b/findings/$t"
  "$b/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$b/findings/$t/" "${opts[@]}" \
    "$b/corpus/$t" "${seeds[@]}" >"$b/fuzz_$t.log" 2>&1 || true
}
export -f run
export b secs
printf '%s\n' "${targets[@]}" | xargs -P "${FUZZ_PARALLEL:-1}" -I{} bash -c 'run {}'

found=0
printf '%-14s %8s %12s %10s %13s %6s %7s %s\n' target seconds executions exec/s "cov/edges" ft corpus findings
for t in "${targets[@]}"; do
  log="$b/fuzz_$t.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  edges=$(sed -n 's/^INFO: Loaded 1 modules *(\([0-9]*\) inline 8-bit counters.*/\1/p' "$log" | head -1)
  n=$(find "$b/findings/$t" -type f | wc -l)
  [ "$n" -gt 0 ] && found=1
  printf '%-14s %8s %12s %10s %13s %6s %7s %s\n' "$t" "$secs" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}/${edges:-?}" "${ft:-?}" "${corp:-?}" "$n"
done
exit $found
