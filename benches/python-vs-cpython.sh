#!/usr/bin/env bash
# Every Python port under workloads/python, in its component and under CPython, side by
# side in one run on one machine:
#   bash benches/python-vs-cpython.sh BINARY [RUNS]
# Builds each port (timed: componentize-py, or the content-hash cache), then runs it RUNS
# times (default 5) each way with its default parameters through `owbench workload run
# --json`, alternating, and prints the median `run_ms` of each (the call alone: not the
# instantiation, not Python's start), their ratio, and the component's size.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "$1")
runs=${2:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '| port | build s | component MB | wasm ms (median of %s) | CPython ms | wasm/CPython |\n|---|---|---|---|---|---|\n' "$runs"
for dir in workloads/python/*/; do
  name=$(basename "$dir")
  cp -r "$dir" "$work/$name"
  start=$EPOCHREALTIME
  "$bin" plugin build "$work/$name" >/dev/null
  end=$EPOCHREALTIME
  "$bin" workload run "$work/$name" --json >/dev/null # compiled once, then cached
  for _ in $(seq "$runs"); do
    "$bin" workload run "$work/$name" --json >>"$work/$name.wasm.jsonl"
    "$bin" workload run "$work/$name" --native --json >>"$work/$name.native.jsonl"
  done
  python3 - "$work/$name" "$name" "$start" "$end" <<'PY'
import json, os, statistics, sys
base, name, start, end = sys.argv[1:]
build = float(end) - float(start)
med = lambda kind: statistics.median(json.loads(l)["run_ms"] for l in open(f"{base}.{kind}.jsonl"))
wasm, native = med("wasm"), med("native")
size = os.path.getsize(f"{base}/{name}.wasm") / 1e6
print(f"| {name} | {build:.1f} | {size:.1f} | {wasm:.1f} | {native:.1f} | {wasm / native:.2f} |")
PY
done
