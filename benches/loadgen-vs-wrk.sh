#!/usr/bin/env bash
# The load engine alone against a trivial loopback HTTP endpoint (`GET /` of
# `owbench serve`: a small JSON document, no action), side by side with `wrk` on the
# same endpoint in the same run, same connection count and duration.
#   bash benches/loadgen-vs-wrk.sh [connections] [seconds]
# OWBENCH=path/to/owbench runs that binary instead of building target/release/owbench.
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-16}
secs=${2:-10}
command -v wrk >/dev/null || { echo "needs wrk (Debian package wrk)" >&2; exit 1; }
bin=${OWBENCH:-}
if [ -z "$bin" ]; then
  cargo build --release -q -p owbench
  bin=target/release/owbench
fi
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))
$bin serve --port "$port" --data-dir "$work/db" 2>"$work/serve.log" &
server=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
cat >"$work/spec.toml" <<SPEC
name = "loadgen"
duration_s = $secs
output = "$work/out"
[target]
kind = "http"
url = "http://127.0.0.1:$port/"
[load]
model = "closed"
concurrency = $conns
[[workload]]
name = "get"
SPEC
wrk_rps=$(wrk -t2 -c"$conns" -d"${secs}s" "http://127.0.0.1:$port/" | awk '/Requests\/sec/ {print $2}')
$bin bench "$work/spec.toml" --quiet >/dev/null 2>&1
ow_rps=$(python3 -c "import json,glob; print(round(json.load(open(glob.glob('$work/out/*/summary.json')[0]))['workloads'][0]['throughput_per_s'], 1))")
echo "wrk:     $wrk_rps req/s  (-t2 -c$conns -d${secs}s)"
echo "owbench: $ow_rps req/s  (closed loop, concurrency $conns, ${secs}s)"
python3 -c "print(f'ratio owbench/wrk: {$ow_rps / $wrk_rps:.2f}')"
