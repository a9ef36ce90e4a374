#!/usr/bin/env bash
# Installs what is missing, builds, and runs the test suite (all but `ctest -L slow`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
export HDX_CACHE_DIR="$PWD/build/cache"
cd build
ctest --output-on-failure -j "$(nproc)" -LE slow "$@"
