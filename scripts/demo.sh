#!/usr/bin/env bash
# Quick start, the main job on the built-in default: installs what is missing, builds, then
# runs the whole flow on the default spec (co-search on Fashion-MNIST, int8 quantization,
# Verilog, sign-off of real test images on the RTL, report) into out/flow.
# Usage: scripts/demo.sh [SPEC [OUT]]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
spec=${1:-examples/fmnist-latency.json}
out=${2:-out/flow}
build/cli/hdx flow --spec "$spec" --out "$out" --force
