#!/usr/bin/env bash
# Builds hdx with AddressSanitizer and UndefinedBehaviorSanitizer (-DHDX_SANITIZE=ON) in
# build-san/, the Verilated harness that hdx sim compiles included, and runs the test suite
# there. Any sanitizer report stops the process that made it and fails its test. Reports from
# third-party code are suppressed, each with its reason, in scripts/sanitizers/; nothing is
# turned off globally. Arguments go to both ctest passes below (default: -LE slow, as
# scripts/test.sh); each pass adds its own -E or -R, which replaces one given here.
#
#   scripts/check-sanitizers.sh [CTEST ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
b=build-san
cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHDX_SANITIZE=ON >/dev/null
t0=$(date +%s)
cmake --build "$b" -j "${JOBS:-$(nproc)}"
t1=$(date +%s)
supp="$PWD/scripts/sanitizers"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$supp/ubsan.supp"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp"
export HDX_CACHE_DIR="$PWD/$b/cache"
[ $# -eq 0 ] && set -- -LE slow
# The tests that start MPI ranks (their names say Mpi or Rank) run in a second pass with the
# DWARF unwinder on every allocation: Open MPI's leaks are suppressed by the frames of
# MPI_Init, MPI_Finalize and its progress thread (lsan.supp), which the fast frame-pointer
# unwinder does not reach through Open MPI's plugins. It makes allocation-heavy tests about
# four times slower, so the other tests keep the fast one.
mpi='Mpi|Rank'
status=0
(cd "$b" && ctest --output-on-failure -j "${JOBS:-$(nproc)}" "$@" -E "$mpi") || status=$?
(cd "$b" && ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0" \
   ctest --output-on-failure -j "${JOBS:-$(nproc)}" "$@" -R "$mpi") || status=$?
t2=$(date +%s)
echo "sanitizer build $((t1 - t0)) s, tests $((t2 - t1)) s, ctest exit $status"
exit $status
