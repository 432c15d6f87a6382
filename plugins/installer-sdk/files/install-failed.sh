#!/bin/bash
# install-failed.sh STEP REASON: say why this node's installation failed, where
# `owbench cluster up` looks. The journal and /run/owbench/install-failed get the
# reason; on a node with the TLS front every request is answered 503 with it, which `up`
# reports at once (it stops waiting for the health check). The details are in
# /var/log/owbench-install.log.
set -uo pipefail
message="install failed: ${2:-unknown} (step: $1; log: /var/log/owbench-install.log on this node)"
mkdir -p /run/owbench
printf '%s\n' "$message" >/run/owbench/install-failed
logger --tag owbench "$message"
if [ -s /etc/owbench/tls/api.crt ] && command -v nginx >/dev/null; then
  cat >/etc/nginx/sites-available/owbench-failed <<'SITE'
server {
    listen 443 ssl;
    listen [::]:443 ssl;
    ssl_certificate /etc/owbench/tls/api.crt;
    ssl_certificate_key /etc/owbench/tls/api.key;
    error_page 503 /install-failed;
    location / {
        return 503;
    }
    location = /install-failed {
        internal;
        root /run/owbench;
        default_type text/plain;
    }
}
SITE
  rm -f /etc/nginx/sites-enabled/*
  ln -sf /etc/nginx/sites-available/owbench-failed /etc/nginx/sites-enabled/owbench-failed
  systemctl restart nginx || true
fi
