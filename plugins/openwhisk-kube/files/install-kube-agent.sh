#!/bin/bash
# An invoker node of owbench's `openwhisk-kube` installer: owbench's runtime image (the
# `wasm` kind) fetched from the server, which builds it, into k3s' image directory (k3s
# imports it into containerd when it starts), then k3s joined to the server.
set -euo pipefail
server='http://{{node:server:private-ip}}:@SHARE_PORT@'
images=/var/lib/rancher/k3s/agent/images
mkdir -p "$images"
# The server publishes the image when it has built it (minutes after it boots).
for _ in $(seq 1 180); do
  if sha256=$(curl --fail --silent --max-time 10 "$server/owbench-runtime.tar.sha256"); then
    break
  fi
  sleep 10
done
if [ -z "${sha256:-}" ]; then
  echo "the server did not publish owbench's runtime image within 30 minutes" >&2
  exit 1
fi
/usr/local/lib/owbench/fetch-pinned.sh "owbench's runtime image" \
  "$server/owbench-runtime.tar" "${sha256%% *}" "$images/owbench-runtime.tar"
/usr/local/lib/owbench/install-k3s.sh agent
