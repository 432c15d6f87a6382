#!/usr/bin/env bash
# The whole test suite, as CI runs it: toolchain set-up, format, lints, tests, and the
# criterion benches run once each as tests (so they never rot). Safe to run on a fresh
# machine: it installs what it needs (the Rust 1.95 toolchain's wasm32-wasip2 target).
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
if ! rustup toolchain list | grep -q "^$toolchain"; then
  rustup toolchain install "$toolchain" --profile minimal --component rustfmt,clippy
fi
# rustup does not add a rust-toolchain.toml target to an already installed toolchain.
rustup target add --toolchain "$toolchain" wasm32-wasip2

step() { printf '\n== %s\n' "$*"; }

# The HTML report is checked in a real browser: Debian's Chromium (the test drives it
# with playwright-core from the npm registry, which it installs itself).
if [ ! -x /usr/bin/chromium ]; then
  step "apt-get install chromium (for the report test)"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi

step "cargo fmt"
cargo fmt --all -- --check

step "clippy (host and guests natively)"
cargo clippy --locked --release --workspace --all-targets -- -D warnings

step "clippy (guests for wasm32-wasip2)"
cargo clippy --locked --release --target wasm32-wasip2 --target-dir target/guests \
  -p owbench-workload -p matmul -p bintree -p file-io -p object-download -p noop -p bigdata -p ml-inference \
  -p fixture-misbehave -p fixture-wrong-world -- -D warnings

step "tests"
cargo test --locked --release --workspace

step "benches, once each as tests"
cargo test --locked --release -p owbench --benches
