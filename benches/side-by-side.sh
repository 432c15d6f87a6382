#!/usr/bin/env bash
# Two owbench binaries on the hot-path specs, one after the other, spec by spec, in one
# run on one machine (so the ratio holds even when the machine's speed changes):
#   bash benches/side-by-side.sh OLD_BINARY NEW_BINARY [SPEC.toml...]
# OLD_ARGS and NEW_ARGS add arguments to each binary's `bench` (one binary in two modes:
#   NEW_ARGS="--containers process" bash benches/side-by-side.sh BIN BIN).
# Default specs: noop-warm, noop-cold and noop-1m. Prints, per spec and workload, the
# throughput, client p50, cold initTime p50 and the run's peak RSS of each binary.
set -euo pipefail
cd "$(dirname "$0")/.."
old=$(realpath "$1")
new=$(realpath "$2")
shift 2
specs=("$@")
[ ${#specs[@]} -gt 0 ] || specs=(benches/specs/noop-warm.toml benches/specs/noop-cold.toml benches/specs/noop-1m.toml)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for spec in "${specs[@]}"; do
  name=$(basename "$spec" .toml)
  for which in old new; do
    bin=${!which}
    args_var=${which^^}_ARGS
    read -r -a args <<<"${!args_var:-}"
    OWBENCH_DB="$work/$which.sqlite" /usr/bin/time -f "%M" -o "$work/$which-$name.rss" \
      "$bin" bench "$spec" "${args[@]}" --quiet -o "$work/$which-$name" >/dev/null 2>"$work/$which-$name.log"
  done
done
python3 - "$work" "${specs[@]}" <<'PY'
import glob, json, os, sys
work, specs = sys.argv[1], sys.argv[2:]
print(f"| spec | workload | figure | old | new | new/old |")
print("|---|---|---|---|---|---|")
for spec in specs:
    name = os.path.basename(spec)[:-5]
    runs = {}
    for which in ("old", "new"):
        summary = json.load(open(glob.glob(f"{work}/{which}-{name}/*/summary.json")[0]))
        rss = int(open(f"{work}/{which}-{name}.rss").read().split()[-1]) / 1024
        runs[which] = (summary, rss)
    for i, w in enumerate(runs["old"][0]["workloads"]):
        n = runs["new"][0]["workloads"][i]
        rows = [("throughput /s", w["throughput_per_s"], n["throughput_per_s"]),
                ("client p50 µs", w["latency_us"]["p50"], n["latency_us"]["p50"])]
        if w["cold_starts"] > 0.5 * w["measured"]:
            rows.append(("initTime p50 µs", w["init_us"]["p50"], n["init_us"]["p50"]))
        for fig, a, b in rows:
            print(f"| {name} | {w['name']} | {fig} | {a:,.1f} | {b:,.1f} | {b / a:.2f} |")
    a, b = runs["old"][1], runs["new"][1]
    print(f"| {name} | (run) | peak RSS MB | {a:,.0f} | {b:,.0f} | {b / a:.2f} |")
PY
