#!/bin/bash
# Leave ingress to the cloud's security rules, which `owbench cluster up` sets from the
# plan: some images (Canonical's Ubuntu on OCI) ship an iptables firewall that rejects
# every inbound connection but SSH, and every forwarded packet, which would block the
# API and a Kubernetes pod network. Its REJECT rules are removed and the change saved;
# on an image without them (Ubuntu on EC2) nothing changes.
set -euo pipefail
rule=(-j REJECT --reject-with icmp-host-prohibited)
changed=no
for chain in INPUT FORWARD; do
  while iptables -C "$chain" "${rule[@]}" 2>/dev/null; do
    iptables -D "$chain" "${rule[@]}"
    changed=yes
  done
done
if [ "$changed" = yes ] && command -v netfilter-persistent >/dev/null; then
  netfilter-persistent save
fi
