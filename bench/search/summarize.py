"""Markdown table of the constraint-satisfaction study from runs.jsonl."""
import json, sys
from collections import defaultdict

runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
groups = defaultdict(list)
for r in runs:
    groups[(r["target"], r["mode"])].append(r)
print("| latency max (ms) | feasible share of space | mode | runs meeting it | test accuracy (met runs) | energy uJ (met runs) | latency ms (all runs) | search s |")
print("|---|---|---|---|---|---|---|---|")
mean = lambda v: sum(v) / len(v) if v else float("nan")
for (t, mode), rs in sorted(groups.items(), key=lambda kv: (-kv[0][0], ["hdx", "soft", "none"].index(kv[0][1]))):
    met = [r for r in rs if r["feasible"]]
    acc = [r["accuracy"] for r in met if r["accuracy"] is not None]
    print(f"| {t:g} | {100 * rs[0]['feasible_share']:.1f}% | {mode} | {len(met)}/{len(rs)} | "
          f"{100 * mean(acc):.1f}% | {mean([r['energy_uj'] for r in met]):.2f} | "
          f"{min(r['latency_ms'] for r in rs):.4f}-{max(r['latency_ms'] for r in rs):.4f} | "
          f"{mean([r['search_s'] for r in rs]):.1f} |")
