#!/usr/bin/env bash
# Constraint-satisfaction study (bench/RESULTS.md section 5).
#  1. `none` runs once per seed: its search reads no constraint (the network logits see no
#     hardware term, the hardware logits only the objective, no extra epochs, no fallback),
#     so its final design is judged against every target below.
#  2. The targets are set relative to the median latency and area of the designs `none`
#     found: latency_ms max = f * median for every f in LAT_FACTORS (f < 1 binds: `none`'s
#     own design misses it), and one area-bound case, area_mm2 max = AREA_FACTOR * median.
#  3. Every case x seed runs mode hdx and mode soft with every weight in SOFT_WEIGHTS (MODES
#     picks among them). OBJECTIVE_WEIGHT and NETWORK_WEIGHT, when set, replace the spec's
#     objective.weight and objective.network_weight in every run (with network_weight 0,
#     `none` does not depend on the first: its network logits see no hardware term and the
#     hardware logits' step is normalized per group, so only its direction counts). FINISH,
#     when set, replaces search.finish in the hdx and soft runs, NONE_FINISH in the `none` runs
#     (which set the targets). CASES, when set, names the cases to run (e.g. "area0.7").
#     TARGETS, when set, is the cases.json of an earlier study whose targets are kept (to add
#     seeds to it: SEEDS="6 7 8 9 10" TARGETS=OLD/cases.json).
# Every run trains and tests its final design (train.infeasible in the spec), so a design that
# misses its target is a failure and its accuracy can still be shown apart. One line per run in
# OUTDIR/runs.jsonl, the targets in OUTDIR/cases.json, then the Markdown summary. A run whose
# search_report.json exists is not run again (an interrupted study resumes).
# Usage: bench/search/run_study.sh HDX OUTDIR [SPEC]   (default SPEC: study_spec.json here)
set -euo pipefail
hdx=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
spec=${3:-$here/study_spec.json}
seeds=(${SEEDS:-1 2 3 4 5})
lat_factors=(${LAT_FACTORS:-1.5 0.8 0.6 0.4})
area_factor=${AREA_FACTOR:-0.7}
soft_weights=(${SOFT_WEIGHTS:-0.5 4 32})
modes=" ${MODES:-hdx soft} "
objective_weight=${OBJECTIVE_WEIGHT:-}
network_weight=${NETWORK_WEIGHT:-}
finish=${FINISH:-}
none_finish=${NONE_FINISH:-}
only=" ${CASES:-} "
mkdir -p "$out"
touch "$out/runs.jsonl"

# run NAME SEED MODE SOFT_WEIGHT METRIC LIMIT CASE
run() {
  local d="$out/$1"
  if [ ! -f "$d/search_report.json" ]; then
    local fin=$finish
    [ "$3" = none ] && fin=$none_finish
    python3 - "$spec" "$d.json" "$2" "$3" "$4" "$5" "$6" "$objective_weight" "$network_weight" \
        "$fin" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
if sys.argv[10]:
    s["search"]["finish"] = sys.argv[10]
if sys.argv[8]:
    s["objective"]["weight"] = float(sys.argv[8])
if sys.argv[9]:
    s["objective"]["network_weight"] = float(sys.argv[9])
s["seed"] = int(sys.argv[3])
s["constraint_mode"] = sys.argv[4]
s["search"]["soft_weight"] = float(sys.argv[5])
s["constraints"] = [{"metric": sys.argv[6], "max": float(sys.argv[7])}]
json.dump(s, open(sys.argv[2], "w"))
PY
    local rc=0
    "$hdx" search --spec "$d.json" --out "$d" --force > "$d.log" 2>&1 || rc=$?
    echo "$rc" > "$d.rc"
  fi
  python3 - "$d/search_report.json" "$(cat "$d.rc")" "$7" "$2" "$3" "$4" "$1" >> "$out/runs.jsonl" <<'PY'
import json, os, sys
if not os.path.exists(sys.argv[1]):  # the run failed before its report: a failure
    print(json.dumps({"name": sys.argv[7], "case": sys.argv[3], "seed": int(sys.argv[4]),
                      "mode": sys.argv[5], "exit": int(sys.argv[2]), "error": True}))
    sys.exit(0)
r = json.load(open(sys.argv[1]))
d, c, a = r["design"], r["constraints"][0], r["design"]["accelerator"]
print(json.dumps({
    "name": sys.argv[7], "case": sys.argv[3], "seed": int(sys.argv[4]), "mode": sys.argv[5],
    "soft_weight": float(sys.argv[6]) if sys.argv[5] == "soft" else None,
    "exit": int(sys.argv[2]), "feasible": r["feasible"], "metric": c["metric"],
    "limit": c["limit"], "value": c["value"], "mappable": d["mappable"],
    "objective_weight": r["objective"]["weight"],
    "network_weight": r["objective"].get("network_weight"),
    "finish": r["spec_resolved"]["search"].get("finish", "argmax"),
    "latency_ms": d["latency_ms"], "area_mm2": d["area_mm2"], "energy_uj": d["energy_uj"],
    "accuracy": (r["accuracy"] or {}).get("test_accuracy"),
    "choice": d["choice"],
    "accelerator": f'{a["dataflow"]} {a["pe_rows"]}x{a["pe_cols"]}',
    "projected_steps": r["search"]["projected_steps"], "epochs_run": r["search"]["epochs_run"],
    "search_s": r["times_s"]["search_s"], "total_s": r["times_s"]["total_s"],
    "feasible_share": r["space"]["feasible_share"]}))
PY
  tail -1 "$out/runs.jsonl"
}

# The file is rebuilt from the run folders on every call.
: > "$out/runs.jsonl"
for seed in "${seeds[@]}"; do
  run "none_s$seed" "$seed" none 0 latency_ms 1000 none
done

if [ -n "${TARGETS:-}" ]; then
  [ "$TARGETS" -ef "$out/cases.json" ] || cp "$TARGETS" "$out/cases.json"
else
python3 - "$out" "$area_factor" "${lat_factors[@]}" <<'PY'
import json, statistics, sys
out, area_factor, factors = sys.argv[1], float(sys.argv[2]), [float(f) for f in sys.argv[3:]]
runs = [r for r in map(json.loads, filter(str.strip, open(out + "/runs.jsonl"))) if "error" not in r]
lat = statistics.median(r["latency_ms"] for r in runs)
area = statistics.median(r["area_mm2"] for r in runs)
cases = [{"case": f"lat{f:g}", "metric": "latency_ms", "factor": f, "limit": round(f * lat, 6)}
         for f in factors]
cases.append({"case": f"area{area_factor:g}", "metric": "area_mm2", "factor": area_factor,
              "limit": round(area_factor * area, 6)})
json.dump({"none_median_latency_ms": lat, "none_median_area_mm2": area, "cases": cases},
          open(out + "/cases.json", "w"), indent=1)
PY
fi
cat "$out/cases.json"

mapfile -t cases < <(python3 -c "import json,sys
for c in json.load(open(sys.argv[1]))['cases']: print(c['case'], c['metric'], c['limit'])" "$out/cases.json")
for line in "${cases[@]}"; do
  read -r case metric limit <<< "$line"
  [ "$only" != "  " ] && [[ $only != *" $case "* ]] && continue
  for seed in "${seeds[@]}"; do
    if [[ $modes == *" hdx "* ]]; then
      run "${case}_s${seed}_hdx" "$seed" hdx 0 "$metric" "$limit" "$case"
    fi
    if [[ $modes == *" soft "* ]]; then
      for w in "${soft_weights[@]}"; do
        run "${case}_s${seed}_soft$w" "$seed" soft "$w" "$metric" "$limit" "$case"
      done
    fi
  done
done
python3 "$here/summarize.py" "$out/runs.jsonl" "$out/cases.json"
