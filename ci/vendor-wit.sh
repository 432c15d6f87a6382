#!/usr/bin/env bash
# Refresh wit/deps (the WASI 0.2 packages our worlds import) from the wasmtime-wasi-http
# crate the host links against, so guest and host agree on one WASI version.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(cargo metadata --format-version 1 --locked | python3 -c '
import json, sys
print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "wasmtime-wasi-http"))')
src=$(cargo metadata --format-version 1 --locked | python3 -c '
import json, sys, os
print(os.path.dirname(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"] == "wasmtime-wasi-http")))')
rm -rf wit/deps && mkdir -p wit/deps
for pkg in cli clocks filesystem http io random sockets; do
  cp "$src/wit/deps/$pkg.wit" "wit/deps/$pkg.wit"
done
echo "wit/deps refreshed from wasmtime-wasi-http $version"
