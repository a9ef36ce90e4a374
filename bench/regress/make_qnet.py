#!/usr/bin/env python3
"""Writes random int8 weights for a network of conv and fc layers as weights_int8.npz
(docs/formats.md), for throughput runs of `hdx sim --weights` without a trained network.

usage: bench/regress/make_qnet.py NETWORK OUT.npz [SEED]

The weights are uniform int8; the requantization follows random_requant (sim/golden.cpp):
the shift that scales the accumulator's spread to about 48, the multiplier in [2^30, 2^31).
The RTL must agree with the int8 reference whatever the weights, which is what hdx sim checks.
"""
import json
import math
import random
import struct
import sys
import zipfile


def npy(dtype, shape, data):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        dtype, "".join(f"{n}, " for n in shape) if len(shape) != 1 else f"{shape[0]},")
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: make_qnet.py NETWORK OUT.npz [SEED]")
    net = json.load(open(sys.argv[1]))
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) == 4 else 1)
    c, h, w = net["input"]["channels"], net["input"]["height"], net["input"]["width"]
    with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_STORED) as z:
        for l in net["layers"]:
            name, op = l["name"], l["op"]
            if op == "conv":
                k, s, p, g = l["kernel"], l.get("stride", 1), l.get("padding", 0), l.get("groups", 1)
                oc = l["out_channels"]
                shape = [oc, k, k, c // g]
                h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
            elif op == "fc":
                oc = l["out_features"]
                shape = [oc, h, w, c]
                h = w = 1
            else:
                sys.exit(f"{name}: only conv and fc layers")
            n = math.prod(shape)
            kk = n // oc
            sigma = math.sqrt(kk) * (128.0 * 128.0 / 3.0)
            shift = 0
            while shift < 63 and 2.0 ** (shift - 30) < sigma / 48.0:
                shift += 1
            br = int(sigma / 2)
            z.writestr(f"{name}.weight.npy",
                       npy("|i1", shape, bytes(rng.randrange(256) for _ in range(n))))
            z.writestr(f"{name}.bias.npy", npy("<i4", [oc], struct.pack(
                f"<{oc}i", *[rng.randint(-br, br) for _ in range(oc)])))
            z.writestr(f"{name}.mult.npy", npy("<i4", [oc], struct.pack(
                f"<{oc}i", *[rng.randint(1 << 30, (1 << 31) - 1) for _ in range(oc)])))
            z.writestr(f"{name}.shift.npy", npy("|u1", [oc], bytes([shift] * oc)))
            z.writestr(f"{name}.scale.npy", npy("<f4", [1], struct.pack("<f", 0.05)))
            c = oc


if __name__ == "__main__":
    main()
