#!/usr/bin/env python3
"""Whole-process times of hdx commands, warm cache: the median of RUNS runs of each.

usage: bench/startup.py HDX [RUNS]      (HDX: the hdx executable, e.g. build/cli/hdx)

Times `hdx --help`, `hdx --version`, `hdx rtl --help`, `hdx search --help` (through hdx-train),
`hdx cost` of a 4-layer and of a 400-layer network (bench/make_net.py) on
examples/accel_ws_16x16.json, and prints the 400-layer run's time per layer.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))


def median_seconds(argv, runs):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)  # warm the cache
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: bench/startup.py HDX [RUNS]")
    hdx = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) == 3 else 20
    accel = os.path.join(here, "..", "examples", "accel_ws_16x16.json")
    with tempfile.TemporaryDirectory() as tmp:
        nets = {}
        for n in (4, 400):
            nets[n] = os.path.join(tmp, f"net{n}.json")
            subprocess.run([sys.executable, os.path.join(here, "make_net.py"), str(n), nets[n]],
                           check=True)
        rows = [("hdx --help", [hdx, "--help"]),
                ("hdx --version", [hdx, "--version"]),
                ("hdx rtl --help", [hdx, "rtl", "--help"]),
                ("hdx search --help", [hdx, "search", "--help"]),
                ("hdx cost, 4 layers", [hdx, "cost", "--network", nets[4], "--accel", accel]),
                ("hdx cost, 400 layers", [hdx, "cost", "--network", nets[400], "--accel", accel])]
        print(f"median of {runs} runs, wall time of the whole process")
        for name, argv in rows:
            s = median_seconds(argv, runs)
            print(f"{name:<24} {s * 1e3:9.1f} ms")
        print(f"{'per layer, 400 layers':<24} {s * 1e3 / 400:9.3f} ms")


if __name__ == "__main__":
    main()
