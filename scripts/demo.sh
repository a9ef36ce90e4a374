#!/usr/bin/env bash
# Quick start, the main job on the built-in default: installs what is missing, builds, then
# runs the cost model, writes the Verilog and signs it off in simulation for the example
# network on the 16x16 example accelerator, ending with the model-vs-RTL table.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
net=${1:-examples/net_all_kinds.json}
acc=${2:-examples/accel_ws_16x16.json}
build/cli/hdx cost --network "$net" --accel "$acc" --json out/cost.json
build/cli/hdx rtl --accel "$acc" --out out/rtl --force
build/cli/hdx sim --network "$net" --accel "$acc" --out out/sim --force
