#!/usr/bin/env bash
# Builds the native half of the Android library into moae/src/main/jniLibs/<abi>/:
#   libmoae_jni.so     - the JNI bridge (crate android/jni) with moae-runtime inside, via cargo-ndk
# for arm64-v8a, armeabi-v7a and x86_64 (the emulator's ABI), every LOAD segment aligned to
# 16 KiB (Google Play's requirement for Android 15+; checked by scripts/check-page-align.sh).
#
# ONNX Runtime is NOT packed here: the library depends on the official
# com.microsoft.onnxruntime:onnxruntime-android package (moae/build.gradle.kts, pinned), whose
# AAR brings jni/<abi>/libonnxruntime.so. One process, one ONNX Runtime: an app that also uses
# ORT shares that same library (Gradle resolves one version). A libonnxruntime.so left in
# jniLibs by an older version of this script would clash with it; step 2 removes it.
#
# NOT run on the machines this repository is developed on (no NDK there); it needs:
#   - the Android NDK (r26+): ANDROID_NDK_HOME (or ANDROID_NDK_ROOT) set
#   - cargo-ndk:     cargo install cargo-ndk --locked
#   - Rust targets:  rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
#
# ORT version: the runtime is built with ort's `api-31` feature, so onnxruntime-android must be
# >= 1.31 (build.gradle.kts pins 1.31.1). How the runtime finds libonnxruntime.so on a device:
# NativeBridge's static initialiser calls System.loadLibrary("onnxruntime") (the dependency's)
# before loading libmoae_jni; the runtime's load-dynamic dlopen("libonnxruntime.so") then
# resolves to that already-loaded copy (same linker namespace, matched by soname).
# Options.ortLibraryPath overrides this.
#
# Usage: android/build-native.sh [--debug]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="$here/moae/src/main/jniLibs"
abis=(arm64-v8a armeabi-v7a x86_64)
min_sdk=24
profile=(--release)
[[ "${1:-}" == "--debug" ]] && profile=()

die() { echo "build-native.sh: $*" >&2; exit 1; }

ndk="${ANDROID_NDK_HOME:-${ANDROID_NDK_ROOT:-}}"
[[ -n "$ndk" && -d "$ndk" ]] || die "set ANDROID_NDK_HOME to an installed Android NDK (r26 or newer)"
command -v cargo-ndk >/dev/null || die "cargo-ndk is missing: cargo install cargo-ndk --locked"
for t in aarch64-linux-android armv7-linux-androideabi x86_64-linux-android; do
  rustup target list --installed 2>/dev/null | grep -qx "$t" || die "missing Rust target $t: rustup target add $t"
done

# 1. libmoae_jni.so for each ABI. cargo-ndk sets the NDK linker and writes <out>/<abi>/.
#    ort is built with load-dynamic, so nothing links against ONNX Runtime at build time.
#    16 KB pages: Google Play requires native libraries whose LOAD segments are aligned to
#    16 KiB for apps targeting Android 15+; NDK r27 and older link with 4 KiB by default, so
#    the flag is passed for every ABI (harmless on 4 KiB-page devices). Per-target variables,
#    so that a RUSTFLAGS set by the caller is kept.
page_flags="-C link-arg=-Wl,-z,max-page-size=16384"
for t in AARCH64_LINUX_ANDROID ARMV7_LINUX_ANDROIDEABI X86_64_LINUX_ANDROID; do
  var="CARGO_TARGET_${t}_RUSTFLAGS"
  export "$var=${!var:+${!var} }$page_flags"
done
ndk_targets=()
for abi in "${abis[@]}"; do ndk_targets+=(-t "$abi"); done
(cd "$root" && cargo ndk "${ndk_targets[@]}" --platform "$min_sdk" -o "$out" \
  build -p moae-jni "${profile[@]}")

# 2. No ONNX Runtime in jniLibs: it comes from the onnxruntime-android dependency.
for abi in "${abis[@]}"; do
  if [[ -f "$out/$abi/libonnxruntime.so" ]]; then
    echo "removing $out/$abi/libonnxruntime.so (ONNX Runtime comes from onnxruntime-android)" >&2
    rm -f "$out/$abi/libonnxruntime.so"
  fi
done

# 3. Every ABI was built (x86_64 too: the emulator's), with 16 KiB-aligned LOAD segments.
libs=()
for abi in "${abis[@]}"; do
  [[ -f "$out/$abi/libmoae_jni.so" ]] || die "missing $out/$abi/libmoae_jni.so"
  libs+=("$out/$abi/libmoae_jni.so")
done
"$root/scripts/check-page-align.sh" "${libs[@]}" || die "a library is not 16 KiB-aligned (see above)"
find "$out" -name '*.so' -exec ls -l {} + >&2
echo "native libraries ready in $out; next: (cd android && gradle :moae:assembleRelease)" >&2
