"""Markdown tables of a constraint-satisfaction study (bench/search/run_study.sh).
Usage: summarize.py runs.jsonl cases.json

Per case and mode: runs meeting the target (exact cost model, final design); float test
accuracy of the runs that meet it (mean, standard deviation, range) and, apart, of those that
miss it; the mean accuracy with a miss scored 0; budget use (metric / limit) over all runs;
search seconds. `none` ran once per seed and is judged against every case."""
import json, statistics, sys
from collections import defaultdict

runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cases = json.load(open(sys.argv[2]))


def label(r):
    return "soft w=%g" % r["soft_weight"] if r["mode"] == "soft" else r["mode"]


def judged(r, case):
    """The run's value of the case's metric, and whether it meets the case's limit."""
    if r.get("error") or not r["mappable"]:
        return None, False
    v = r[case["metric"]]
    return v, v <= case["limit"]


def stats(v):
    if not v:
        return "-"
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return "%.1f%% ± %.1f (%.1f-%.1f)" % (100 * statistics.mean(v), 100 * sd, 100 * min(v), 100 * max(v))


nones = [r for r in runs if r["mode"] == "none"]
print("`none` designs: median latency %.4g ms, median area %.4g mm2 (targets are set from these)\n"
      % (cases["none_median_latency_ms"], cases["none_median_area_mm2"]))
print("| case | limit | mode | met | accuracy, met runs: mean ± sd (range) | accuracy, missed runs | "
      "mean accuracy, miss = 0 | budget use: mean (range) | search s |")
print("|---|---|---|---|---|---|---|---|---|")
best = {}
for case in cases["cases"]:
    by = defaultdict(list)
    for r in runs:
        if r["case"] == case["case"] or r["mode"] == "none":
            by[label(r)].append(r)
    order = ["none", "hdx"] + sorted((k for k in by if k.startswith("soft")),
                                     key=lambda k: float(k.split("=")[1]))
    rows = {}
    for mode in order:
        rs = by.get(mode, [])
        if not rs:
            continue
        js = [judged(r, case) for r in rs]
        met = [r["accuracy"] for r, (v, ok) in zip(rs, js) if ok and r.get("accuracy") is not None]
        miss = [r["accuracy"] for r, (v, ok) in zip(rs, js) if not ok and r.get("accuracy") is not None]
        n_met = sum(ok for v, ok in js)
        use = [v / case["limit"] for v, ok in js if v is not None]
        score = statistics.mean([r.get("accuracy") or 0.0 if ok else 0.0 for r, (v, ok) in zip(rs, js)])
        secs = [r["search_s"] for r in rs if not r.get("error")]
        rows[mode] = (n_met, len(rs), statistics.mean(met) if met else None)
        print("| %s | %s <= %g | %s | %d/%d | %s | %s | %.1f%% | %s | %.0f |" % (
            case["case"], case["metric"], case["limit"], mode, n_met, len(rs), stats(met),
            ("%.1f%% (n=%d)" % (100 * statistics.mean(miss), len(miss))) if miss else "-",
            100 * score,
            ("%.2f (%.2f-%.2f)" % (statistics.mean(use), min(use), max(use))) if use else "-",
            statistics.mean(secs) if secs else float("nan")))
    best[case["case"]] = rows

print("\nGoal check (issue 11): hdx meets every target in every run; at a binding target its mean "
      "accuracy is at least that of the best soft setting that meets the target in every run.\n")
print("| case | binds (`none` misses it) | hdx met | hdx accuracy (met runs) | best soft meeting it in every run | its accuracy |")
print("|---|---|---|---|---|---|")
for case in cases["cases"]:
    rows = best[case["case"]]
    n_none_miss = sum(not judged(r, case)[1] for r in nones)
    h = rows.get("hdx", (0, 0, None))
    full = [(acc, m) for m, (n, tot, acc) in rows.items()
            if m.startswith("soft") and n == tot and acc is not None]
    b = max(full) if full else None
    print("| %s | %d/%d seeds | %d/%d | %s | %s | %s |" % (
        case["case"], n_none_miss, len(nones), h[0], h[1],
        "%.1f%%" % (100 * h[2]) if h[2] is not None else "-",
        b[1] if b else "no soft setting", "%.1f%%" % (100 * b[0]) if b else "-"))
