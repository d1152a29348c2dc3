#!/usr/bin/env bash
# Shows that the test command's lint set-up (steps.sh `lint_while_building`: clippy-driver as
# the workspace's compiler, `-D warnings` through CLIPPY_ARGS) still fails a build on a clippy
# lint, and passes clean code: a build that lints nothing would otherwise pass silently.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/steps.sh
source "$root/scripts/steps.sh"
lint_while_building || exit 1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/canary/src"
printf '[package]\nname = "canary"\nversion = "0.0.0"\nedition = "2021"\n[workspace]\n' \
  >"$work/canary/Cargo.toml"
build() {
  printf '%s\n' "$1" >"$work/canary/src/main.rs"
  (cd "$work/canary" && CARGO_TARGET_DIR="$work/target" cargo build --offline --quiet 2>&1)
}
if ! out=$(build 'fn main() { println!("{}", std::env::args().count()); }'); then
  printf 'clippy canary: clean code failed to build:\n%s\n' "$out"
  exit 1
fi
# clippy::len_zero (style, warn by default): `-D warnings` makes it an error.
if out=$(build 'fn main() { let a: Vec<String> = std::env::args().collect(); println!("{}", a.len() == 0); }'); then
  printf 'clippy canary: a clippy warning did not fail the build: the lints are not applied\n'
  exit 1
fi
if ! grep -q 'clippy::len.zero' <<<"$out"; then
  printf 'clippy canary: the build failed, but not on the planted lint:\n%s\n' "$out"
  exit 1
fi
echo "clippy canary: clean code builds, a planted clippy::len_zero fails the build"
