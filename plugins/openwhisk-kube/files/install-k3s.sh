#!/bin/bash
# install-k3s.sh server|agent: k3s at the pinned version, its download checked against
# the pinned SHA-256, started as the k3s service with /etc/rancher/k3s/config.yaml (the
# join token, the node's labels; an agent's server address).
set -euo pipefail
mode=$1
version='v1.32.3+k3s1'
case "$(uname -m)" in
  x86_64)
    asset=k3s
    sha256=b19216803650b567bf980888dec39035edaf664339c55bc4462f7a003edbef83
    ;;
  aarch64)
    asset=k3s-arm64
    sha256=e1704d6dd74332acc8c398d36987663c7d559144b8ce789a83fd0ff1cb40cbaa
    ;;
  *)
    echo "k3s $version: no pinned build for $(uname -m)" >&2
    exit 1
    ;;
esac
/usr/local/lib/owbench/fetch-pinned.sh "k3s $version ($asset)" \
  "https://github.com/k3s-io/k3s/releases/download/${version/+/%2B}/$asset" \
  "$sha256" /usr/local/bin/k3s
chmod 0755 /usr/local/bin/k3s
for tool in kubectl crictl ctr; do
  ln -sf k3s "/usr/local/bin/$tool"
done
case "$mode" in
  server) type='notify' ;;
  agent) type='exec' ;;
  *)
    echo "install-k3s.sh: server or agent, not $mode" >&2
    exit 2
    ;;
esac
sed -e "s/@MODE@/$mode/" -e "s/@TYPE@/$type/" /usr/local/lib/owbench/k3s.service \
  >/etc/systemd/system/k3s.service
systemctl daemon-reload
systemctl enable --now k3s.service
