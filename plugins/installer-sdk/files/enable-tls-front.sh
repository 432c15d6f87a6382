#!/bin/bash
# Serve the API only over TLS: nginx in front of the API's loopback port with the
# certificate `owbench cluster up` made for this cluster (it pins it when it connects),
# with room for thousands of concurrent connections.
set -euo pipefail
conf=/etc/nginx/nginx.conf
sed -i -e 's/^\([[:space:]]*\)worker_connections .*;/\1worker_connections 16384;/' "$conf"
grep -q '^worker_rlimit_nofile' "$conf" || sed -i -e '1i worker_rlimit_nofile 65536;' "$conf"
rm -f /etc/nginx/sites-enabled/default
ln -sf /etc/nginx/sites-available/owbench-api /etc/nginx/sites-enabled/owbench-api
nginx -t
systemctl enable nginx
systemctl restart nginx
