#!/usr/bin/env python3
"""Compares the cost model's area with synthesis (bench/rtl/area.sh) and fits the model's
standard-cell coefficients (costmodel/tech.h, docs/costmodel.md "Area") by least squares on
the configurations named in FIT. The SRAM area of each memory is recomputed here from the
SRAM table by the rule of costmodel/sram.cpp (an independent check of both the synthesis
report and the model). Usage: area.py SRAM_TABLE FIT OUT NAME..."""
import json
import sys

table, fit, out, names = sys.argv[1], sys.argv[2].split(","), sys.argv[3], sys.argv[4:]
macros = json.load(open(table))["macros"]


def sram_area(kind, depth, width):
    best = None
    for m in macros:
        if m["kind"] == kind and m["depth"] >= depth:
            a = -(-width // m["width"]) * m["area_um2"]
            best = a if best is None or a < best else best
    return best


def pow2_at_least(*v):
    n = 2
    while n < max(v):
        n *= 2
    return n


def block_of(instance):  # trees written before memories.json had "block"
    for part, b in [("u_ifmap_buf", "ifmap_buffer"), ("u_weight_buf", "weight_buffer"),
                    ("u_acc.", "accumulator"), ("u_filt", "pe_array"),
                    ("u_param", "store_engine")]:
        if part in instance:
            return b
    raise ValueError(instance)


# The model's components against the synthesis kinds they cover.
GROUPS = [("pe_array", ["pe_array", "spad"], ["pe_array"]),
          ("ifmap", ["ifmap"], ["ifmap_buffer"]),
          ("weight", ["weight"], ["weight_buffer"]),
          ("acc", ["acc"], ["accumulator"]),
          ("output_stage", ["output_stage"], ["output_stage"]),
          ("control", ["control", "param"],
           ["control", "compute_control", "load_engine", "store_engine"])]

rows = {}
for n in names:
    d = f"{out}/{n}"
    a = json.load(open(f"{d}/accel.json"))
    rep = json.load(open(f"{d}/synth/report.json"))
    model = json.load(open(f"{d}/cost.json"))["area_um2"]
    mems = json.load(open(f"{d}/rtl/memories.json"))["memories"]
    std = {k: v.get("std_cell_area_um2", v["area_um2"]) for k, v in rep["by_kind"].items()}
    sram = {}
    for m in mems:
        x = sram_area(m["kind"], m["depth"], m["width_bits"]) * m["count"]
        b = m.get("block") or block_of(m["instance"])
        sram[b] = sram.get(b, 0) + x
    if "sram_area_um2" in rep:  # the report prices the memories as this script does
        assert abs(rep["sram_area_um2"] - sum(sram.values())) <= 1e-6 * rep["sram_area_um2"], n
    synth = {k: std.get(k, 0) + sram.get(k, 0) for k in set(std) | set(sram)}
    rows[n] = (a, std, synth, model, rep)

# Features of each coefficient group, and the synthesized standard-cell area it explains.
def feats(a, std):
    R, C = a["pe_rows"], a["pe_cols"]
    rs = a["dataflow"] == "rs"
    bpc = a["dram"]["bytes_per_cycle"]
    sp = a.get("spad", {"ifmap": 12, "filter": 224, "psum": 24})
    nb = pow2_at_least(R, bpc)
    ctl = sum(std.get(k, 0) for k in ["control", "compute_control", "load_engine",
                                      "store_engine"])
    return {
        "pe_ws": ([] if rs else [([R * C], std["pe_array"])]),
        "pe_rs": ([([R * C, R * C * (sp["ifmap"] + 4 * sp["psum"])], std["pe_array"])]
                  if rs else []),
        "requant": [([C], std["output_stage"])],
        "acc": [([C], std["accumulator"])],
        "ifmap": [([nb], std["ifmap_buffer"])],
        "weight": [([C], std["weight_buffer"])],
        # DRAM width is left out: in the fitted configurations it grows with the array, and
        # with it the fit gave a negative coefficient (control_um2_per_dram_byte stays 0).
        "control": [([0 if rs else 1, 1 if rs else 0, R + C, C * C * sp["psum"] if rs else 0],
                     ctl)],
    }


def lstsq(pts):
    k = len(pts[0][0])
    A = [[sum(p[0][i] * p[0][j] for p in pts) for j in range(k)] for i in range(k)]
    b = [sum(p[0][i] * p[1] for p in pts) for i in range(k)]
    for i in range(k):  # Gauss-Jordan with partial pivoting
        piv = max(range(i, k), key=lambda r: abs(A[r][i]))
        A[i], A[piv], b[i], b[piv] = A[piv], A[i], b[piv], b[i]
        for r in range(k):
            if r != i and A[i][i]:
                f = A[r][i] / A[i][i]
                A[r] = [x - f * y for x, y in zip(A[r], A[i])]
                b[r] -= f * b[i]
    return [b[i] / A[i][i] if A[i][i] else 0.0 for i in range(k)]


pts = {}
for n in names:
    if n in fit:
        for g, p in feats(rows[n][0], rows[n][1]).items():
            pts.setdefault(g, []).extend(p)
keys = {"pe_ws": ["pe_ws_um2"], "pe_rs": ["pe_rs_um2", "spad_um2_per_byte"],
        "requant": ["requant_um2_per_col"], "acc": ["acc_um2_per_col"],
        "ifmap": ["ifmap_um2_per_bank"], "weight": ["weight_um2_per_col"],
        "control": ["control_ws_um2", "control_rs_um2", "control_um2_per_line",
                    "control_rs_um2_per_drain_input"]}
coef = {}
for g, ks in keys.items():
    if pts.get(g):
        coef.update(zip(ks, (round(x, 1) for x in lstsq(pts[g]))))
coef["control_um2_per_dram_byte"] = 0.0
print("fitted coefficients (on " + ", ".join(n for n in names if n in fit) + "):")
print(json.dumps(coef, indent=1))

print("\n| config | in fit | synthesis um2 (std cells + SRAM) | model um2 | error | std cells: synthesis / model | worst component |")
print("|---|---|---|---|---|---|---|")
for n in names:
    a, std, synth, model, rep = rows[n]
    s_tot = sum(synth.values())
    m_tot = sum(model.values())
    worst = ("", 0)
    for g, mk, sk in GROUPS:
        s = sum(synth.get(k, 0) for k in sk)
        m = sum(model[k] for k in mk)
        e = (m - s) / s if s else 0
        if abs(e) > abs(worst[1]):
            worst = (g, e)
    s_std = sum(std.values())
    m_std = m_tot - (s_tot - s_std)  # the model's SRAM area is the synthesis's (same table)
    print(f"| {n} | {'yes' if n in fit else 'no'} | {s_tot:,.0f} ({s_std:,.0f} + "
          f"{s_tot - s_std:,.0f}) | {m_tot:,.0f} | {100 * (m_tot - s_tot) / s_tot:+.1f}% "
          f"| {s_std:,.0f} / {m_std:,.0f} ({100 * (m_std - s_std) / s_std:+.1f}%) "
          f"| {worst[0]} {100 * worst[1]:+.1f}% |")

print("\nper component, synthesis / model um2 (error):\n")
print("| config | " + " | ".join(g for g, _, _ in GROUPS) + " |")
print("|---" * (len(GROUPS) + 1) + "|")
for n in names:
    a, std, synth, model, rep = rows[n]
    cells = []
    for g, mk, sk in GROUPS:
        s = sum(synth.get(k, 0) for k in sk)
        m = sum(model[k] for k in mk)
        cells.append(f"{s:,.0f} / {m:,.0f} ({100 * (m - s) / s:+.0f}%)" if s else "-")
    print(f"| {n} | " + " | ".join(cells) + " |")
