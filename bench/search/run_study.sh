#!/usr/bin/env bash
# Constraint-satisfaction study: every target x seed x constraint mode runs `hdx search` on a
# study spec whose first constraint gets the target as its max; prints one JSON line per run
# and a Markdown summary.
# Usage: bench/search/run_study.sh HDX OUTDIR [SPEC TARGET...]
#   default: bench/search/study_spec.json (latency_ms) with 0.10 0.06 0.045 0.035 0.03
set -euo pipefail
hdx=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
spec=${3:-$here/study_spec.json}
targets=(0.10 0.06 0.045 0.035 0.03)
[ $# -gt 3 ] && targets=("${@:4}")
mkdir -p "$out"
: > "$out/runs.jsonl"
for t in "${targets[@]}"; do
  for seed in 1 2 3; do
    for mode in hdx soft none; do
      d="$out/t${t}_s${seed}_${mode}"
      python3 - "$spec" "$d.json" "$t" "$seed" "$mode" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["constraints"][0]["max"] = float(sys.argv[3])
s["seed"] = int(sys.argv[4])
s["constraint_mode"] = sys.argv[5]
json.dump(s, open(sys.argv[2], "w"))
PY
      rc=0
      "$hdx" search --spec "$d.json" --out "$d" --force > "$d.log" 2>&1 || rc=$?
      python3 - "$d/search_report.json" "$t" "$seed" "$mode" "$rc" >> "$out/runs.jsonl" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(json.dumps({"target": float(sys.argv[2]), "seed": int(sys.argv[3]), "mode": sys.argv[4],
                  "exit": int(sys.argv[5]), "feasible": r["feasible"],
                  "latency_ms": r["design"]["latency_ms"], "energy_uj": r["design"]["energy_uj"],
                  "area_mm2": r["design"]["area_mm2"],
                  "metric": r["constraints"][0]["metric"], "objective": r["objective"]["metric"],
                  "accuracy": (r["accuracy"] or {}).get("test_accuracy"),
                  "search_s": r["times_s"]["search_s"], "total_s": r["times_s"]["total_s"],
                  "feasible_share": r["space"]["feasible_share"]}))
PY
      tail -1 "$out/runs.jsonl"
    done
  done
done
python3 "$here/summarize.py" "$out/runs.jsonl"
