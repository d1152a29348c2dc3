#!/usr/bin/env bash
# Set-up for the aarch64 (ARM64) cross build and its emulated tests, idempotent (seconds when
# done); scripts/test.sh runs it before its aarch64 step.
#  - Rust target aarch64-unknown-linux-gnu (rustup);
#  - the cross compilers and qemu user-mode emulation (apt-get, as root, where missing);
#  - ONNX Runtime's aarch64 library, unpacked from the pinned PyPI wheel into
#    .venv/ort-aarch64/ (ignored), and compiler shims (gcc, cc, g++, c++ -> the cross ones)
#    that scripts/aarch64/qemu-runner.sh puts first on PATH for the tests.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '[setup-aarch64] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

target=aarch64-unknown-linux-gnu
ort_version=1.31.1
wheel="onnxruntime-$ort_version-cp311-cp311-manylinux_2_28_aarch64.whl"
wheel_sha256=da05378364c44d4407e463982d2bf8d5e4cfea873283757e48beeb41df97b7f3
dest="$root/.venv/ort-aarch64"
lib="$dest/libonnxruntime.so.$ort_version"

if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  command -v rustup >/dev/null || die "rustup not found: install the Rust target $target yourself"
  log "adding Rust target $target"
  rustup target add "$target" >&2
fi

missing=()
command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu)
command -v aarch64-linux-gnu-g++ >/dev/null || missing+=(g++-aarch64-linux-gnu)
command -v qemu-aarch64-static >/dev/null || command -v qemu-aarch64 >/dev/null || missing+=(qemu-user-static)
command -v unshare >/dev/null || missing+=(util-linux)
if ((${#missing[@]})); then
  [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null ||
    die "missing ${missing[*]}: install them (Debian/Ubuntu package names) and rerun"
  log "installing ${missing[*]} (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -f "$lib" ]]; then
  [[ -x "$root/.venv/bin/python" ]] || die "$root/.venv missing: run scripts/setup.sh first"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  log "downloading $wheel (PyPI, pinned by SHA-256)"
  # --python-version/--abi: the same file whatever the host Python; the library inside does
  # not depend on Python.
  # Three tries, 20 s apart: a registry that stops answering for a moment is not a failed set-up.
  for try in 1 2 3; do
    "$root/.venv/bin/python" -m pip download --disable-pip-version-check --no-cache-dir -q \
      --only-binary=:all: --platform manylinux_2_28_aarch64 --python-version 3.11 --abi cp311 \
      --no-deps "onnxruntime==$ort_version" -d "$tmp" && break
    ((try < 3)) || die "pip download onnxruntime==$ort_version (aarch64) failed 3 times (pip's messages above)"
    log "pip download failed (try $try of 3); trying again in 20 s"
    sleep 20
  done
  [[ -f "$tmp/$wheel" ]] || die "pip did not fetch $wheel (got: $(ls "$tmp"))"
  echo "$wheel_sha256  $tmp/$wheel" | sha256sum -c --quiet - || die "$wheel: SHA-256 mismatch"
  mkdir -p "$dest"
  "$root/.venv/bin/python" - "$tmp/$wheel" "$lib.part" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("onnxruntime/capi/libonnxruntime.so.1.31.1"))
PY
  mv "$lib.part" "$lib"
fi

mkdir -p "$dest/bin"
for t in gcc cc; do ln -sfn "$(command -v aarch64-linux-gnu-gcc)" "$dest/bin/$t"; done
for t in g++ c++; do ln -sfn "$(command -v aarch64-linux-gnu-g++)" "$dest/bin/$t"; done
