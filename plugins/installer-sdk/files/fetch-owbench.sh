#!/bin/bash
# Install the owbench binary that `owbench cluster up` uploaded to the provider's object
# storage: download it with the presigned URL (valid while the cluster is made), check
# its SHA-256, install it as /usr/local/bin/owbench.
set -euo pipefail
url='{{artifact:owbench:url}}'
sha256='{{artifact:owbench:sha256}}'
download=$(mktemp)
trap 'rm -f "$download"' EXIT
curl --fail --silent --show-error --location --retry 10 --retry-all-errors \
  --output "$download" "$url"
echo "$sha256  $download" | sha256sum --check --quiet
install -m 0755 "$download" /usr/local/bin/owbench
