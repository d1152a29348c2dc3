#!/usr/bin/env bash
# The project's whole test command (README; `.ci/run` runs exactly this).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./scripts/setup.sh
# A one-off build gains nothing from incremental caches (about 2 GB of target/): CI skips them.
if [[ -n "${CI:-}" ]]; then export CARGO_INCREMENTAL=0; fi
step() { printf '\n==> %s\n' "$*" >&2; }
step "cargo fmt --check"
cargo fmt --all --check
step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
step "cargo test"
cargo test --workspace
step "aarch64 (ARM64): cross build, tests under qemu, scores against x86-64"
./scripts/test-aarch64.sh
