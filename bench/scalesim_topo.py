#!/usr/bin/env python3
"""Writes the SCALE-Sim v2 inputs for an hdx network and accelerator, to time SCALE-Sim on the
same layers as `hdx cost` (bench/RESULTS.md, section 1).

usage: bench/scalesim_topo.py NETWORK.json ACCEL.json OUT_DIR

Writes OUT_DIR/topology.csv and OUT_DIR/config.cfg. SCALE-Sim has no padding, groups or fc:
a layer's input is given padded; a depthwise layer is written as SCALE-Sim's own MobileNet
topology writes one (C channels, one filter); an fc layer as a 1x1 convolution over its
flattened input. Buffer sizes and the array come from the accelerator; SCALE-Sim's interface
bandwidth is in words per cycle, which for int8 is the accelerator's bytes per cycle.
"""
import json
import os
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: bench/scalesim_topo.py NETWORK.json ACCEL.json OUT_DIR")
    net = json.load(open(sys.argv[1]))
    acc = json.load(open(sys.argv[2]))
    out = sys.argv[3]
    os.makedirs(out, exist_ok=True)

    c, h, w = (net["input"][k] for k in ("channels", "height", "width"))
    rows = ["Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
            "Num Filter, Strides,"]
    for layer in net["layers"]:
        if layer["op"] == "fc":
            rows.append(f'{layer["name"]}, 1, 1, 1, 1, {c * h * w}, {layer["out_features"]}, 1,')
            c, h, w = layer["out_features"], 1, 1
            continue
        if layer["op"] != "conv":
            sys.exit(f'layer {layer["name"]}: op {layer["op"]} has no SCALE-Sim equivalent here')
        k, s, p = layer["kernel"], layer.get("stride", 1), layer.get("padding", 0)
        groups, cout = layer.get("groups", 1), layer["out_channels"]
        if groups not in (1, c) or (groups == c and cout != c):
            sys.exit(f'layer {layer["name"]}: only dense and depthwise convolutions')
        ch, filters = (c, 1) if groups > 1 else (c, cout)
        rows.append(f'{layer["name"]}, {h + 2 * p}, {w + 2 * p}, {k}, {k}, {ch}, {filters}, {s},')
        c, h, w = cout, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    with open(os.path.join(out, "topology.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")

    kib = acc["buffers_kib"]
    with open(os.path.join(out, "config.cfg"), "w") as f:
        f.write(f"""[general]
run_name = {acc["name"]}

[architecture_presets]
ArrayHeight: {acc["pe_rows"]}
ArrayWidth: {acc["pe_cols"]}
IfmapSramSzkB: {kib["ifmap"]}
FilterSramSzkB: {kib["weight"]}
OfmapSramSzkB: {kib["ofmap"]}
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth: {acc["dram"]["bytes_per_cycle"]}
Dataflow: {acc["dataflow"]}
MemoryBanks: 1

[run_presets]
InterfaceBandwidth: USER
""")


if __name__ == "__main__":
    main()
