#!/usr/bin/env bash
# Yosys cell summary of generated accelerators, before technology mapping: memories with their
# size, port counts and read clocking, and the arithmetic cells ($mul, $div, $mod) that
# matter for a silicon or FPGA flow. Usage:
#   bench/rtl/cells.sh HDX OUT ACCEL.json...
# writes OUT/<name>/ (the generated tree) and prints one block per accelerator.
set -euo pipefail
hdx=$1 out=$2
shift 2
for acc in "$@"; do
  name=$(basename "$acc" .json)
  dir="$out/$name"
  rm -rf "$dir"
  "$hdx" rtl --accel "$acc" --out "$dir" --no-lint >/dev/null
  top=$(sed -n 's/.*"top": "\([^"]*\)".*/\1/p' "$dir"/rtl/*.signature.json | head -1)
  files=$(grep -v '^+incdir' "$dir/rtl/filelist.f" | tr '\n' ' ')
  t0=$(date +%s.%N)
  (cd "$dir/rtl" && yosys -q -p "read_verilog -sv -defer -I. $files; hierarchy -top $top; proc;
      flatten; opt; memory -nomap; opt_clean; tee -q -o ../stat.txt stat;
      delete t:* t:\$mem_v2 %d; write_json ../mems.json")
  t1=$(date +%s.%N)
  python3 - "$dir" "$name" "$t0" "$t1" <<'PY'
import json, re, sys
d, name, t0, t1 = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
stat = open(d + "/stat.txt").read()
cells = dict((m.group(1), int(m.group(2))) for m in re.finditer(r"^\s+(\$\w+)\s+(\d+)$", stat, re.M))
print(f"{name}: {sum(cells.values())} cells after proc/opt/memory -nomap ({t1 - t0:.0f} s)")
print("  $mul {}  $div {}  $mod {}  $divfloor {}  $modfloor {}".format(
    *(cells.get(k, 0) for k in ("$mul", "$div", "$mod", "$divfloor", "$modfloor"))))
mods = json.load(open(d + "/mems.json"))["modules"]
seen = {}  # memories that differ only in array indices (one per PE) are counted together
for m in mods.values():
    for c in m.get("cells", {}).values():
        if c["type"] != "$mem_v2":
            continue
        p = c["parameters"]
        num = lambda k: int(p[k], 2) if isinstance(p[k], str) else int(p[k])
        sync = "sync" if "1" in str(p.get("RD_CLK_ENABLE", "0")) else "async"
        key = (re.sub(r"\[\d+\]", "[*]", p["MEMID"].lstrip(chr(92))),
               f"{num('SIZE')} x {num('WIDTH')} bits, {num('RD_PORTS')} read ({sync}), "
               f"{num('WR_PORTS')} write")
        seen[key] = seen.get(key, 0) + 1
for (mid, desc), n in sorted(seen.items()):
    print(f"  memory {mid}: {desc}" + (f", {n} instances" if n > 1 else ""))
PY
done
