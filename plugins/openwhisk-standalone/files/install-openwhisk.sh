#!/bin/bash
# OpenWhisk standalone on this node (owbench's `openwhisk-standalone` installer): every
# image an activation needs pulled now (the service runs with --dev-mode, which pulls
# nothing, so no cold start waits for a registry), owbench's runtime image built from
# the owbench binary, and OpenWhisk as a systemd service on loopback port 3233.
set -euo pipefail
# The daemon with owbench's drop-in (written before the package started it).
systemctl daemon-reload
systemctl enable docker
systemctl restart docker
while read -r image; do
  if [ -n "$image" ]; then
    docker pull --quiet "$image"
  fi
done </etc/owbench/openwhisk/images
# The `wasm` kind's image: `owbench runtime` with the built-in workloads precompiled.
context=/usr/local/lib/owbench/runtime
install -m 0755 /usr/local/bin/owbench "$context/owbench"
DOCKER_BUILDKIT=1 docker build --quiet --build-arg BINARY=prebuilt \
  --build-arg BASE=ubuntu:24.04 --tag owbench/runtime:cluster "$context"
rm -f "$context/owbench"
systemctl daemon-reload
systemctl enable --now owbench-openwhisk.service
