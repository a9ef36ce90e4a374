#!/usr/bin/env python3
"""Writes techlib/hdx_sram45.json, hdx's SRAM macro table (docs/formats.md, "SRAM table").

An ESTIMATE in the manner of a memory compiler's datasheet, not a foundry table. Every
entry is computed here from a small analytical model of a 45 nm SRAM macro whose
constants come from published figures:

  * bit cell: 0.346 um2 6T cell of a 45 nm logic process (K. Mistry et al., "A 45nm
    logic technology with high-k + metal gate transistors ...", IEDM 2007); the 8T
    one-read-one-write cell is taken 1.3x larger; array efficiency 1/1.25 (well and
    strap rows, dummy cells);
  * periphery per port: row decoder and word-line driver 8 um2 per physical row,
    precharge and column multiplexer 3 um2 per physical column, sense amplifier, write
    driver and I/O latch 25 um2 per data bit, timing control 1500 um2; the column
    multiplexer (1 to 32) is chosen to make the array as square as possible, as memory
    compilers do;
  * read energy: E = W x (0.02 + 0.00055 x sqrt(bits)) pJ for a W-bit access, which
    passes through the 45 nm 64-bit read energies of M. Horowitz, "Computing's energy
    problem (and what we can do about it)", ISSCC 2014: 8 KiB 10 pJ, 32 KiB 20 pJ,
    1 MiB 100 pJ (10.3, 19.3 and 103 pJ here); a write costs 1.1x a read (full-swing
    bit lines), an assumption;
  * access time (clock to data out): 0.25 ns + 0.00098 ns x sqrt(bits) (0.5 ns at
    8 KiB, 0.75 ns at 32 KiB), setup time of address, data and enables 0.12 ns: an
    estimate of the order of CACTI's 45 nm figures for such arrays.

Memories shallower than 16 words are not compiled as SRAM arrays: entries of depth 2, 4
and 8 are flip-flop register files (4.52 um2 DFF and 1.06 um2 enable multiplexer per bit,
1.86 um2 per bit per read-multiplexer stage: Nangate 45 nm DFF_X1, MUX2_X1 areas).

Usage: scripts/gen-sram-table.py > techlib/hdx_sram45.json
"""
import json
import math

CELL = {"sram_1rw": 0.346, "sram_1r1w": 0.346 * 1.3}
PORTS = {"sram_1rw": 1, "sram_1r1w": 2}
DEPTHS = [2, 4, 8] + [2 ** k for k in range(4, 17)]  # up to 65536 words
WIDTHS = [8, 16, 32, 64, 128]


def macro(kind, depth, width):
    bits = depth * width
    p = PORTS[kind]
    if depth < 16:  # flip-flop register file
        area = bits * (4.52 + 1.06) + width * 1.86 * (depth - 1)
        read = width * (0.01 + 0.004 * math.log2(depth))
        write = width * 0.03
        access, setup = 0.15, 0.08
    else:
        mux = min((2 ** k for k in range(6)),
                  key=lambda m: (abs(math.log2(depth / m) - math.log2(width * m)), m))
        rows, cols = depth // mux, width * mux
        area = (bits * CELL[kind] * 1.25 +
                p * (8 * rows + 3 * cols + 25 * width + 1500))
        read = width * (0.02 + 0.00055 * math.sqrt(bits))
        write = 1.1 * read
        access, setup = 0.25 + 0.00098 * math.sqrt(bits), 0.12
    r = lambda x, n=3: round(x, n)
    return {"kind": kind, "depth": depth, "width": width, "area_um2": r(area, 1),
            "read_pj": r(read), "write_pj": r(write), "access_ns": r(access),
            "setup_ns": r(setup)}


table = {
    "name": "hdx_sram45",
    "note": "ESTIMATE: 45 nm SRAM macros from an analytical model anchored to published "
            "figures (bit cell: Mistry et al., IEDM 2007; energies: Horowitz, ISSCC 2014); "
            "written by scripts/gen-sram-table.py, which gives every constant",
    "macros": [macro(k, d, w) for k in CELL for d in DEPTHS for w in WIDTHS],
}
print(json.dumps(table, indent=1))
