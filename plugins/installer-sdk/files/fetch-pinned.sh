#!/bin/bash
# fetch-pinned.sh NAME URL SHA256 DEST: download URL to DEST only if its SHA-256 is the
# pinned SHA256; otherwise say so in one line (naming NAME) and fail, leaving nothing.
set -euo pipefail
if [ $# -ne 4 ]; then
  echo "usage: fetch-pinned.sh NAME URL SHA256 DEST" >&2
  exit 2
fi
name=$1
url=$2
sha256=$3
dest=$4
download=$(mktemp "$dest.XXXXXX")
trap 'rm -f "$download"' EXIT
if ! curl --fail --silent --show-error --location --retry 5 --retry-all-errors \
  --output "$download" "$url"; then
  echo "$name: cannot download $url" >&2
  exit 1
fi
actual=$(sha256sum "$download" | cut -d ' ' -f 1)
if [ "$actual" != "$sha256" ]; then
  echo "$name: $url has SHA-256 $actual, not the pinned $sha256" >&2
  exit 1
fi
chmod 0644 "$download"
mv "$download" "$dest"
trap - EXIT
