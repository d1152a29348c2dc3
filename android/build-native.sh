#!/usr/bin/env bash
# Builds the native half of the Android library into moae/src/main/jniLibs/<abi>/:
#   libmoae_jni.so     - the JNI bridge (crate android/jni) with moae-runtime inside, via cargo-ndk
#   libonnxruntime.so  - ONNX Runtime, taken from the official onnxruntime-android AAR
# for arm64-v8a, armeabi-v7a and x86_64.
#
# NOT run on the machines this repository is developed on (no NDK there); it needs:
#   - the Android NDK (r26+): ANDROID_NDK_HOME (or ANDROID_NDK_ROOT) set
#   - cargo-ndk:     cargo install cargo-ndk --locked
#   - Rust targets:  rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
#   - the AAR: ORT_AAR=/path/to/onnxruntime-android-1.31.1.aar, or network access to Maven Central
#     (the script then downloads it once into android/.cache/ with curl; set ORT_AAR_SHA256 to
#     pin the file). The AAR is a zip whose jni/<abi>/libonnxruntime.so we copy as is.
#
# ORT version: the runtime is built with ort's `api-31` feature, so the AAR must be >= 1.31.
# How the runtime finds libonnxruntime.so on a device: NativeBridge's static initialiser calls
# System.loadLibrary("onnxruntime") before loading libmoae_jni; the runtime's load-dynamic
# dlopen("libonnxruntime.so") then resolves to that already-loaded copy (same linker
# namespace, matched by soname). Options.ortLibraryPath overrides this.
#
# Usage: android/build-native.sh [--debug]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="$here/moae/src/main/jniLibs"
abis=(arm64-v8a armeabi-v7a x86_64)
ort_version="${ORT_VERSION:-1.31.1}"
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
ndk_targets=()
for abi in "${abis[@]}"; do ndk_targets+=(-t "$abi"); done
(cd "$root" && cargo ndk "${ndk_targets[@]}" --platform "$min_sdk" -o "$out" \
  build -p moae-jni "${profile[@]}")

# 2. libonnxruntime.so from the official AAR.
aar="${ORT_AAR:-}"
if [[ -z "$aar" ]]; then
  aar="$here/.cache/onnxruntime-android-$ort_version.aar"
  if [[ ! -f "$aar" ]]; then
    url="https://repo1.maven.org/maven2/com/microsoft/onnxruntime/onnxruntime-android/$ort_version/onnxruntime-android-$ort_version.aar"
    echo "downloading $url" >&2
    mkdir -p "$(dirname "$aar")"
    curl -fL --retry 3 -o "$aar.part" "$url" || die "download failed; set ORT_AAR to a local copy"
    mv "$aar.part" "$aar"
  fi
fi
[[ -f "$aar" ]] || die "ORT_AAR=$aar does not exist"
if [[ -n "${ORT_AAR_SHA256:-}" ]]; then
  echo "${ORT_AAR_SHA256}  $aar" | sha256sum -c - >/dev/null || die "$aar does not match ORT_AAR_SHA256"
fi
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
unzip -q -o "$aar" 'jni/*/libonnxruntime.so' -d "$tmp" || die "$aar has no jni/<abi>/libonnxruntime.so"
for abi in "${abis[@]}"; do
  src="$tmp/jni/$abi/libonnxruntime.so"
  [[ -f "$src" ]] || die "$aar has no $abi/libonnxruntime.so"
  install -m 0644 "$src" "$out/$abi/libonnxruntime.so"
done

# 3. Show what was packed (both libraries per ABI).
for abi in "${abis[@]}"; do
  for lib in libmoae_jni.so libonnxruntime.so; do
    [[ -f "$out/$abi/$lib" ]] || die "missing $out/$abi/$lib"
  done
done
find "$out" -name '*.so' -exec ls -l {} + >&2
echo "native libraries ready in $out; next: (cd android && gradle :moae:assembleRelease)" >&2
