#!/usr/bin/env bash
# Installs the Debian 12 packages hdx needs, only those missing; quiet when all are there.
set -euo pipefail
pkgs=(cmake g++ make pkg-config libfmt-dev nlohmann-json3-dev libboost-program-options-dev
      libgtest-dev libbenchmark-dev zlib1g-dev verilator yosys iverilog libtorch-dev
      dataset-fashion-mnist chromium fonts-dejavu-core clang libclang-rt-dev z3 opensta
      libgloo-dev libopenmpi-dev openmpi-bin)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
