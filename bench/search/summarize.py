"""Markdown table of a constraint-satisfaction study from runs.jsonl."""
import json, sys
from collections import defaultdict

runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
# Runs of the first study predate the metric/objective fields: latency target, energy objective.
metric = runs[0].get("metric", "latency_ms")
objective = runs[0].get("objective", "energy")
obj_key = {"energy": "energy_uj", "latency": "latency_ms"}[objective]
groups = defaultdict(list)
for r in runs:
    groups[(r["target"], r["mode"])].append(r)
print(f"| {metric} max | feasible share of space | mode | runs meeting it | "
      f"test accuracy (met runs) | {obj_key} (met runs) | {metric} (all runs) | search s |")
print("|---|---|---|---|---|---|---|---|")
mean = lambda v: sum(v) / len(v) if v else float("nan")
for (t, mode), rs in sorted(groups.items(), key=lambda kv: (-kv[0][0], ["hdx", "soft", "none"].index(kv[0][1]))):
    met = [r for r in rs if r["feasible"]]
    acc = [r["accuracy"] for r in met if r["accuracy"] is not None]
    vals = [r[metric] for r in rs]
    print(f"| {t:g} | {100 * rs[0]['feasible_share']:.1f}% | {mode} | {len(met)}/{len(rs)} | "
          f"{100 * mean(acc):.1f}% | {mean([r[obj_key] for r in met]):.4g} | "
          f"{min(vals):.4g}-{max(vals):.4g} | {mean([r['search_s'] for r in rs]):.1f} |")
