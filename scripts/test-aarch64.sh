#!/usr/bin/env bash
# ARM64 (aarch64-unknown-linux-gnu): the libtorch-free crates cross-built and their tests run
# under qemu user-mode emulation (the runner in .cargo/config.toml), then the same models on
# the same frames scored on aarch64 against x86-64. scripts/test.sh runs this as one step;
# scripts/setup-aarch64.sh installs what it needs. Timings under emulation say nothing about
# speed on ARM hardware.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target=aarch64-unknown-linux-gnu
# shellcheck source=scripts/steps.sh
source "$root/scripts/steps.sh"
# Its own target directory: cargo locks one per command, and scripts/test.sh runs this step
# beside x86-64's build and tests (host build scripts and proc macros are built once more there).
cross_dir="${MOAE_CROSS_TARGET_DIR:-$root/target/cross}"
xcargo() { CARGO_TARGET_DIR="$cross_dir" cargo "$@"; }

run_step "aarch64: set-up (scripts/setup-aarch64.sh)" ./scripts/setup-aarch64.sh

# Clippy -D warnings inside the builds below (steps.sh `lint_while_building`), so the NEON code,
# which only compiles here, is linted where it is built; scripts/test.sh has set this already.
if [[ -z "${RUSTC_WORKSPACE_WRAPPER:-}" ]] && ! lint_while_building; then
  run_step "aarch64: clippy-driver present" false
fi

# Under emulation only what can differ by architecture: numbers (ONNX Runtime's and our SIMD
# kernels, resampling, quality measures, scores), memory layout of the C ABI, threads. Left to
# the x86-64 run, where they behave the same:
#  - text and parsing: the committed header (moae-ffi `header`), the generated protobuf code
#    (moae-onnx `generated_is_current`), status enums and the Swift header (moae-jni
#    `status_enums`, `swift_header_check`), the CLI's argument bounds (moae-cli `bounds`);
#  - the composed face frames (moae-runtime `face_frames`: the detector's kernels are also
#    compared by `face_mediapipe` and `analyze`), the CMake package (`cmake_find_package_...`);
#  - error paths with no arithmetic in them: hostile detector inputs (moae-runtime
#    `face_hostile`) and loading ONNX Runtime from a bad path (`ort_library`);
#  - what cannot run here: valgrind (x86-64 only: `memcheck_finds_no_errors_or_leaks`,
#    `hostile_suite_is_memcheck_clean`), LeakSanitizer under qemu-user (`sanitizers_find_nothing`),
#    and the host JVM (x86-64, cannot load an aarch64 libmoae_jni: `abi_parity`, `jvm_host`);
#  - the `moae` CLI's suites (moae-cli `cli`, `bench_matrix`, its bin target): argument
#    parsing, files and text over the runtime whose numbers are compared here (they took about
#    2 minutes of emulation and a cross build of the CLI);
#  - moae-onnx's own tests (protobuf encoding, byte for byte the same on two little-endian
#    targets; the runtime's tests here decode every model with it) and their dev-dependency
#    protox, a cross build of a protobuf compiler (about 4 minutes of the step with the crates
#    it shared with the runtime);
#  - searches that call `analyze` hundreds of times to locate a configured limit, not to
#    compute a number: the quality defaults pinned from both sides (moae-runtime `analyze`
#    `each_quality_default_is_pinned_from_both_sides`: two minutes under qemu, two seconds
#    natively; the quality measures are scalar Rust, and the detector's aarch64 numbers that
#    feed them are compared by `face_mediapipe`), and the bounded peak memory of 4096 boxes
#    (moae-ffi `hostile` `many_boxes_run_in_bounded_memory`: chunking, no arithmetic).
run_step "aarch64: moae-runtime under qemu" \
  xcargo test --target "$target" -p moae-runtime --lib --test analyze --test analyze_synthetic \
  --test engine --test face_mediapipe --test fail_closed --test preprocess -- \
  --skip each_quality_default_is_pinned_from_both_sides
run_step "aarch64: moae-ffi under qemu" \
  xcargo test --target "$target" -p moae-ffi --lib --test c_abi --test engine_info --test hostile -- \
  --skip memcheck_finds_no_errors_or_leaks --skip hostile_suite_is_memcheck_clean \
  --skip sanitizers_find_nothing --skip cmake_find_package_builds_the_examples \
  --skip many_boxes_run_in_bounded_memory
run_step "aarch64: moae-jni's packing under qemu" xcargo test --target "$target" -p moae-jni --lib
# Google Play (Android 15+) requires 16 KB-aligned native libraries; .cargo/config.toml links
# aarch64 with max-page-size=16384, and every LOAD segment must show it.
run_step "aarch64: libmoae.so and libmoae_jni.so built" \
  xcargo build --target "$target" -p moae-ffi -p moae-jni --lib
run_step "aarch64: 16 KB-aligned LOAD segments (readelf)" ./scripts/check-page-align.sh \
  "$cross_dir/$target/debug/libmoae.so" "$cross_dir/$target/debug/libmoae_jni.so"

fixture="$cross_dir/cross-arch-fixture"
# The demo's trained models (teacher and student) join when scripts/demo.sh has made them
# (it trains for minutes, too long to repeat here).
demo="${MOAE_DEMO_OUT:-$root/demo-out}"
extra=""
for m in model student; do
  if [[ -f "$demo/$m.onnx" && -f "$demo/$m-int8.onnx" ]]; then
    extra="$extra${extra:+:}$demo/$m.onnx:$demo/$m-int8.onnx"
  else
    printf 'note: %s/%s.onnx not found: the trained demo %s is left out (run scripts/demo.sh first)\n' "$demo" "$m" "$m" >&2
  fi
done
run_step "cross-architecture parity: x86-64 writes models, frames and scores" \
  env MOAE_CROSS_ARCH_DIR="$fixture" MOAE_CROSS_ARCH_EXTRA="$extra" \
  cargo test -p moae-tests --test cross_arch_fixture -- --ignored
run_step "cross-architecture parity: aarch64 compares" \
  env MOAE_CROSS_ARCH_DIR="$fixture" CARGO_TARGET_DIR="$cross_dir" \
  cargo test --target "$target" -p moae-runtime --test cross_arch_parity -- --ignored --nocapture
summary
