#!/usr/bin/env python3
"""Writes a network.json of N layers for start-up and per-layer timing of `hdx cost`.

usage: bench/make_net.py LAYERS OUT.json

A 3x3 stem from 3 to 32 channels on 32x32 images, then MobileNet-like layers in turn
(1x1 expand to 64, 3x3 depthwise, 1x1 project to 32) at 16x16 after one stride-2 depthwise,
and a classifier last, so that every layer is a conv or fc of an ordinary size.
"""
import json
import sys


def main():
    if len(sys.argv) != 3 or not sys.argv[1].isdigit() or int(sys.argv[1]) < 2:
        sys.exit("usage: bench/make_net.py LAYERS OUT.json (LAYERS at least 2)")
    n = int(sys.argv[1])
    layers = [{"name": "stem", "op": "conv", "out_channels": 32, "kernel": 3, "stride": 1,
               "padding": 1, "relu": True}]
    body = [("expand", 64, 1, 1), ("dw", 64, 3, 64), ("project", 32, 1, 1)]
    for i in range(n - 2):
        kind, ch, k, groups = body[i % 3]
        layers.append({"name": f"{kind}{i}", "op": "conv", "out_channels": ch, "kernel": k,
                       "stride": 2 if i == 1 else 1, "padding": k // 2, "groups": groups,
                       "relu": True})
    layers.append({"name": "fc", "op": "fc", "out_features": 10})
    net = {"name": f"bench{n}", "input": {"channels": 3, "height": 32, "width": 32},
           "layers": layers}
    with open(sys.argv[2], "w") as f:
        json.dump(net, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
