#!/usr/bin/env bash
# The project's whole test command (README; `.ci/run` runs exactly this). Every step runs even
# when an earlier one failed; the last line sums them all: `N passed, N failed`, counting each
# test of every `cargo test` result line (x86-64 and aarch64) and each other step (set-up, fmt,
# clippy, build, ...) as one. The exit status is 0 only when nothing failed.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# A one-off build gains nothing from incremental caches (about 2 GB of target/): CI skips them.
if [[ -n "${CI:-}" ]]; then export CARGO_INCREMENTAL=0; fi
# shellcheck source=scripts/steps.sh
source "$root/scripts/steps.sh"

run_step "set-up (scripts/setup.sh)" ./scripts/setup.sh
run_step "cargo fmt --check" cargo fmt --all --check
# Clippy runs inside the build (steps.sh `lint_while_building`): one compilation of each crate.
if lint_while_building; then
  run_step "clippy canary: a planted lint fails a build" ./scripts/clippy-canary.sh
else
  run_step "clippy-driver present" false
fi
# The aarch64 step (its own target directory) runs beside x86-64's build and tests, so that
# neither leaves a core idle (the build's longest chain is torch-sys -> tch -> trainer ->
# tests; test binaries run one after another). Its output is shown and counted after x86-64's.
aarch64_out=$(mktemp)
./scripts/test-aarch64.sh >"$aarch64_out" 2>&1 &
aarch64_pid=$!
# Every binary and library the tests start (moae, trainer, libmoae.so/.a) is built here once,
# linted with clippy -D warnings; the tests use these from the target directory instead of
# running cargo inside a test.
run_step "cargo build + clippy -D warnings" cargo build --workspace --all-targets
run_step "cargo test" cargo test --workspace --no-fail-fast
wait "$aarch64_pid"
aarch64_rc=$?
run_step "aarch64 (ARM64): cross build, tests under qemu, scores against x86-64" \
  bash -c 'cat "$1"; exit "$2"' aarch64 "$aarch64_out" "$aarch64_rc"
rm -f "$aarch64_out"
summary
