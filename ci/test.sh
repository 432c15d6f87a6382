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

step() { printf '\n== [%d min %02d s] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

# Packages the tests check against, from Debian: Chromium (the HTML report is opened in
# it, driven by playwright-core from the npm registry, which the test installs itself),
# bowtie2 with its examples (genomics-align is checked against bowtie2 on its lambda
# phage reads), cloud-init and shellcheck (the installers' user data and scripts), and
# docker-registry (plugin packages are pushed to it and installed from it).
packages=()
[ -x /usr/bin/chromium ] || packages+=(chromium chromium-driver)
command -v bowtie2 >/dev/null || packages+=(bowtie2)
[ -f /usr/share/doc/bowtie2/examples/reads/reads_1.fq.gz ] || packages+=(bowtie2-examples)
# The validators of what the installers generate: cloud-init's schema check, shellcheck.
command -v cloud-init >/dev/null || packages+=(cloud-init)
command -v shellcheck >/dev/null || packages+=(shellcheck)
# The OCI registry plugin packages are pushed to and pulled from (CNCF distribution).
command -v docker-registry >/dev/null || packages+=(docker-registry)
if [ ${#packages[@]} -gt 0 ]; then
  step "apt-get install ${packages[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  # cloud-init is here only for its schema check: it must never run at this machine's boot.
  if [[ " ${packages[*]} " == *" cloud-init "* ]]; then
    $sudo mkdir -p /etc/cloud && $sudo touch /etc/cloud/cloud-init.disabled
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi
# Slim images tell dpkg to skip /usr/share/doc: then unpack the examples' package here.
examples=/usr/share/doc/bowtie2/examples
if [ ! -f "$examples/reads/reads_1.fq.gz" ]; then
  rm -rf target/bowtie2-examples && mkdir -p target/bowtie2-examples
  (cd target/bowtie2-examples && apt-get download -qq bowtie2-examples && dpkg-deb -x ./*.deb .)
  export OWBENCH_BOWTIE2_EXAMPLES="$PWD/target/bowtie2-examples$examples"
fi

step "cargo fmt"
cargo fmt --all -- --check

# Lints and tests in one build. clippy-driver is rustc with clippy's lints added: as the
# workspace's compiler wrapper it lints every target of every workspace member while the
# release test build compiles it, and the guest build (`host/guests/build.rs`, told by
# OWBENCH_LINT_GUESTS) lints every guest for wasm32-wasip2 the same way. A separate
# `cargo clippy` would check every dependency again, natively and for wasm32 (wasmtime,
# tract, the AWS SDK): a third of the run. Dependencies are built by rustc as always.
# CLIPPY_ARGS is how `cargo clippy` itself hands clippy-driver its arguments.
RUSTC_WORKSPACE_WRAPPER="$(rustup which --toolchain "$toolchain" clippy-driver)"
export RUSTC_WORKSPACE_WRAPPER
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
export OWBENCH_LINT_GUESTS=1

# Tests build every feature: the native builds of the workloads (cross-checks,
# wasm-vs-native benches), the provider plugins (`owbench cluster` against moto and the
# OCI test server) and the test fixtures. The README's main job builds none of them.
# The `ci` profile is `release` with the inference engine (natively and in the
# ml-inference component the guest build makes) less optimised: Cargo.toml says why.
export OWBENCH_GUESTS_PROFILE=ci
step "tests (lints denied as errors while building)"
cargo test --locked --profile ci --workspace --all-features

step "benches, once each as tests"
cargo test --locked --profile ci -p owbench --all-features --benches

step "done"
