#!/usr/bin/env bash
# One-time (and idempotent) project set-up, run by both README commands.
#  - .venv with the pinned Python packages (requirements.txt): PyTorch for tch, ONNX Runtime.
#  - stable links that .cargo/config.toml names, so plain `cargo build/test/run` work.
# Quick when already done: a stamp records the requirements that were installed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="$root/.venv"
stamp="$venv/.moae-setup-stamp"
want="$(sha256sum requirements.txt | cut -d' ' -f1)"

log() { printf '[setup] %s\n' "$*" >&2; }

# System tools the tests drive (find_package(moae), pkg-config, valgrind memcheck, gcc for the C
# programs, a JDK for the host JVM tests): installed with apt-get where missing and we may
# (root); otherwise those tests say SKIPPED, and fail under CI (an unrun test is not a pass).
missing=()
for tool in cmake pkg-config valgrind gcc g++; do command -v "$tool" >/dev/null || missing+=("$tool"); done
# 32-bit headers for gcc -m32 (ffi/tests/abi32.rs: the header's 64-bit-only assertion fires).
if [[ "$(uname -m)" == x86_64 ]] && ! echo '#include <stdint.h>' | gcc -m32 -fsyntax-only -x c - 2>/dev/null; then
  missing+=(gcc-multilib)
fi
# A JDK only if none is there (JAVA_HOME or PATH): any JDK 11+ does.
if [[ ! -x "${JAVA_HOME:-/nonexistent}/bin/javac" ]] && ! command -v javac >/dev/null; then
  missing+=(openjdk-17-jdk-headless)
fi
if ((${#missing[@]})); then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]} (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
      log "warning: apt-get could not install ${missing[*]}; the tests that need them will be skipped (and fail under CI)"
  else
    log "note: ${missing[*]} not found; the tests that need them will be skipped, and fail under CI (install them)"
  fi
fi

if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  py="${PYTHON:-python3}"
  command -v "$py" >/dev/null || { log "error: $py not found; install Python 3.10+ or set PYTHON"; exit 1; }
  [[ -x "$venv/bin/python" ]] || { log "creating $venv"; "$py" -m venv "$venv"; }
  # The CUDA-enabled torch wheel and its nvidia-* libraries take about 5 GB installed, and pip
  # unpacks each wheel beside it while installing: say so before a full disk says it worse.
  need_gb=8
  for dir in "$venv" "${TMPDIR:-/tmp}"; do
    free_gb=$(df -P -BG "$dir" 2>/dev/null | awk 'NR == 2 { sub("G", "", $4); print $4 }')
    if [[ -n "$free_gb" && "$free_gb" -lt "$need_gb" ]]; then
      log "warning: $dir has ${free_gb} GB free; installing the pinned packages needs about ${need_gb} GB"
    fi
  done
  log "installing pinned packages from requirements.txt (first time: a few minutes)"
  # --no-cache-dir: a second copy of those wheels in pip's cache only costs disk. A registry
  # that stops answering mid-download (pip retries connections, not every broken transfer) gets
  # two more tries, a minute apart; what pip said each time stays in the log.
  try=1
  until "$venv/bin/python" -m pip install --disable-pip-version-check --no-cache-dir -q -r requirements.txt; do
    if ((try == 3)); then
      log "error: pip could not install requirements.txt into $venv (3 tries; pip's messages above)."
      log "free space: $(df -Ph "$venv" | awk 'NR == 2 { print $4 " in " $6 }'); PyPI must be reachable. Fix that and rerun $0."
      exit 1
    fi
    log "pip failed (try $try of 3); trying again in 60 s"
    sleep 60
    try=$((try + 1))
  done
  echo "$want" > "$stamp"
fi

site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
torch_dir="$site/torch"
ort_lib="$site/onnxruntime/capi/libonnxruntime.so.1.31.1"
[[ -f "$torch_dir/lib/libtorch.so" ]] || { log "error: $torch_dir/lib/libtorch.so missing; delete .venv and rerun"; exit 1; }
[[ -f "$ort_lib" ]] || { log "error: $ort_lib missing; delete .venv and rerun"; exit 1; }
ln -sfn "$torch_dir" "$venv/libtorch"
mkdir -p "$venv/ort"
ln -sfn "$ort_lib" "$venv/ort/libonnxruntime.so.1.31.1"
ln -sfn "libonnxruntime.so.1.31.1" "$venv/ort/libonnxruntime.so"

# The face detector's models and test photo (SHA-256 pinned): .venv/face/
"$root/scripts/setup-face.sh"
