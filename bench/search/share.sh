#!/usr/bin/env bash
# Share of a study's design space that meets each target of its first constraint (the search
# report's sampled feasible_share; no training). Usage: bench/search/share.sh HDX SPEC T1 T2 ...
set -euo pipefail
hdx=$1
spec=$2
shift 2
dir=$(mktemp -d)
for t in "$@"; do
  python3 - "$spec" "$t" "$dir/spec.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["constraints"][0]["max"] = float(sys.argv[2])
s["search"].update(epochs=1, warmup_epochs=0, max_extra_epochs=0)
s["dataset"].update(search_train=64, search_val=64)
s["train"]["epochs"] = 0
json.dump(s, open(sys.argv[3], "w"))
PY
  "$hdx" search --spec "$dir/spec.json" --out "$dir/o" --force >/dev/null 2>&1 || true
  python3 -c "import json;r=json.load(open('$dir/o/search_report.json'));print('$t', r['space']['feasible_share'])"
done
rm -rf "$dir"
