#!/bin/bash
# The server node of owbench's `openwhisk-kube` installer: owbench's runtime image (the
# `wasm` kind) built from the owbench binary and published to the agents, the k3s
# server, Helm and OpenWhisk's chart (pinned, checked) with owbench's runtime manifest,
# then, once every agent has joined, the chart installed; done when its install job has
# completed and a probe action ran.
set -euo pipefail
agents=@INVOKERS@
kube=/etc/owbench/kube
share=/var/lib/owbench/share
images=/var/lib/rancher/k3s/agent/images
export KUBECONFIG=/etc/rancher/k3s/k3s.yaml
# What the checks below must say even while wait_for silences them.
exec 3>&2

# Wait up to $1 seconds for `$2...` to succeed; say `$what` when it does not.
wait_for() {
  local seconds=$1
  shift
  for _ in $(seq 1 $((seconds / 10))); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    sleep 10
  done
  echo "$what: not within $((seconds / 60)) minutes" >&2
  return 1
}

# owbench's runtime image, for k3s here (its image directory) and for the agents.
systemctl enable --now docker.service
context=/usr/local/lib/owbench/runtime
install -m 0755 /usr/local/bin/owbench "$context/owbench"
DOCKER_BUILDKIT=1 docker build --quiet --build-arg BINARY=prebuilt \
  --build-arg BASE=ubuntu:24.04 --tag owbench/runtime:cluster "$context"
rm -f "$context/owbench"
mkdir -p "$share" "$images"
docker save --output "$share/owbench-runtime.tar" owbench/runtime:cluster
# nginx (www-data) serves it; `docker save` makes it root's only.
chmod 0644 "$share/owbench-runtime.tar"
ln -f "$share/owbench-runtime.tar" "$images/owbench-runtime.tar"
sha256sum "$share/owbench-runtime.tar" | cut -d ' ' -f 1 >"$share/owbench-runtime.tar.sha256"
# Docker was only the builder.
systemctl disable --now docker.service docker.socket
ln -sf /etc/nginx/sites-available/owbench-share /etc/nginx/sites-enabled/owbench-share
systemctl reload-or-restart nginx

/usr/local/lib/owbench/install-k3s.sh server
what="the k3s server answering"
wait_for 300 kubectl get --raw /readyz

# Helm and OpenWhisk's chart, with owbench's runtime manifest in it.
case "$(uname -m)" in
  x86_64) arch=amd64 helm_sha256=3b66f3cd28409f29832b1b35b43d9922959a32d795003149707fea84cbcd4469 ;;
  aarch64) arch=arm64 helm_sha256=c86c9b23602d4abbfae39d9634e25ab1d0ea6c4c16c5b154113efe316a402547 ;;
  *) echo "helm: no pinned build for $(uname -m)" >&2; exit 1 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/local/lib/owbench/fetch-pinned.sh "helm v3.17.1 (linux-$arch)" \
  "https://get.helm.sh/helm-v3.17.1-linux-$arch.tar.gz" "$helm_sha256" "$work/helm.tar.gz"
tar -xzf "$work/helm.tar.gz" -C "$work"
install -m 0755 "$work/linux-$arch/helm" /usr/local/bin/helm
/usr/local/lib/owbench/fetch-pinned.sh "OpenWhisk's Helm chart 1.0.0" \
  https://github.com/apache/openwhisk-deploy-kube/releases/download/1.0.0/openwhisk-1.0.0.tgz \
  d221370b363a788665026e1d50d8659230ffd080d8d8711c3a21441e1d255f8e "$work/openwhisk.tgz"
chart=/var/lib/owbench/chart
rm -rf "$chart" && mkdir -p "$chart"
tar -xzf "$work/openwhisk.tgz" -C "$chart"
install -m 0644 "$kube/runtimes.json" "$chart/openwhisk/runtimes.json"

# Every agent joined and ready: an invoker node each.
ready_invokers() {
  kubectl get nodes --selector openwhisk-role=invoker --no-headers 2>/dev/null |
    awk '$2 == "Ready" { print $1 }'
}
for _ in $(seq 1 180); do
  if [ "$(ready_invokers | wc -l)" -ge "$agents" ]; then
    break
  fi
  sleep 10
done
joined=$(ready_invokers | paste -sd ' ' -)
if [ "$(ready_invokers | wc -l)" -lt "$agents" ]; then
  echo "$(ready_invokers | wc -l) of $agents agent(s) joined within 30 minutes (${joined:-none}); an agent that did not says why in /var/log/owbench-install.log" >&2
  exit 1
fi

kubectl create namespace openwhisk --dry-run=client --output yaml | kubectl apply --filename -
kubectl apply --filename "$kube/action-isolation.yaml"
address=$(ip -4 route get 1.1.1.1 | sed -n 's/.* src \([0-9.]*\).*/\1/p')
helm upgrade --install owdev "$chart/openwhisk" --namespace openwhisk \
  --values "$kube/values.yaml" --set "whisk.ingress.apiHostName=$address"

# Done when the chart's install job has completed (it fails after 3 tries).
job_done() {
  local state
  state=$(kubectl get job owdev-install-packages --namespace openwhisk \
    --output jsonpath='{.status.succeeded}/{.status.conditions[?(@.type=="Failed")].status}')
  if [ "${state#*/}" = True ]; then
    echo "OpenWhisk's install-packages job failed (kubectl logs --namespace openwhisk job/owdev-install-packages)" >&3
    exit 1
  fi
  [ "${state%/*}" = 1 ]
}
what="OpenWhisk's install-packages job completing"
wait_for 1800 job_done

# The probe: noop as a `wasm` action, every call answered. Its results hold the spec,
# with the guest key: root's only.
install -d -m 0700 /var/lib/owbench/probe
HOME=/root owbench bench "$kube/probe.toml" --quiet --output /var/lib/owbench/probe \
  --db /var/lib/owbench/probe/history.sqlite --fail-if 'error_rate>0%'
