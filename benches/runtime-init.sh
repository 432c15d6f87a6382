#!/usr/bin/env bash
# Cold starts of `owbench runtime` as OpenWhisk's invoker sees them: the time of `POST
# /init` (decode, compile or map from the cache, type-check, first instance) for a fresh
# runtime process each time, with the image's precompiled cache and without any cache.
#   bash benches/runtime-init.sh OWBENCH_BINARY [REPEATS] [WORKLOAD...]
# The binary must be built with the workloads named (ml-inference needs
# `--features heavy-workloads`); their components are read from target/guests.
# Prints the p50 and p90 of each, in ms.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "$1")
repeats=${2:-15}
shift 2 || shift $#
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(noop matmul ml-inference)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" runtime --precompile --cache-dir "$work/cache" >/dev/null
port=18931
echo "| workload | cache | /init p50 ms | /init p90 ms |"
echo "|---|---|---|---|"
for name in "${workloads[@]}"; do
  stem=${name//-/_}
  wasm=target/guests/wasm32-wasip2/release/$stem.wasm
  printf '{"value": {"name": "%s", "binary": true, "code": "%s"}}' "$name" "$(base64 -w0 "$wasm")" >"$work/init.json"
  for cache in precompiled none; do
    case $cache in
      precompiled) flags=(--cache-dir "$work/cache") ;;
      none) flags=(--no-cache) ;;
    esac
    : >"$work/times"
    for _ in $(seq "$repeats"); do
      "$bin" runtime --listen "127.0.0.1:$port" "${flags[@]}" >/dev/null 2>&1 &
      pid=$!
      # As the invoker: wait until the port listens, then time /init alone.
      until curl -s -o /dev/null "http://127.0.0.1:$port/"; do sleep 0.005; done
      curl -s -o /dev/null -w '%{time_total}\n' -H 'content-type: application/json' \
        --data-binary "@$work/init.json" "http://127.0.0.1:$port/init" >>"$work/times"
      kill "$pid"; wait "$pid" 2>/dev/null || true
    done
    sort -g "$work/times" | awk -v name="$name" -v cache="$cache" '
      { t[NR] = $1 * 1000 }
      END { printf "| %s | %s | %.1f | %.1f |\n", name, cache, t[int((NR + 1) / 2)], t[int(NR * 0.9 + 0.5)] }'
  done
done
