#!/usr/bin/env bash
# Cargo's target runner for aarch64-unknown-linux-gnu (.cargo/config.toml): runs an aarch64
# program under qemu user-mode emulation, the way the aarch64 tests need it:
#  - a private user + mount namespace (no change outside this process tree);
#  - /proc/cpuinfo replaced by an aarch64 one (aarch64/cpuinfo, a Cortex-A76 as in phones):
#    qemu passes the host's x86 cpuinfo through and ONNX Runtime's CPU detection then
#    segfaults inside dlopen;
#  - a private binfmt_misc (Linux >= 6.7 gives each user namespace its own) that hands
#    aarch64 ELF files to qemu, so programs the tests start (the `moae` CLI, the C ABI test
#    programs) run emulated too;
#  - gcc/g++/cc/c++ on PATH are the aarch64 cross compilers, so the C ABI tests build for the
#    target; ORT_DYLIB_PATH is the aarch64 ONNX Runtime (scripts/setup-aarch64.sh).
# Usage: qemu-runner.sh PROGRAM [ARGS...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
qemu="$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)"
[[ -n "$qemu" ]] || { echo "qemu-runner: qemu-aarch64(-static) not found; run scripts/setup-aarch64.sh" >&2; exit 2; }
sysroot=/usr/aarch64-linux-gnu
ort="$root/.venv/ort-aarch64/libonnxruntime.so.1.31.1"
[[ -f "$ort" ]] || { echo "qemu-runner: $ort missing; run scripts/setup-aarch64.sh" >&2; exit 2; }
shims="$root/.venv/ort-aarch64/bin"
export QEMU_LD_PREFIX="$sysroot" QEMU_CPU="${QEMU_CPU:-cortex-a76}" ORT_DYLIB_PATH="$ort"
export PATH="$shims:$PATH" MOAE_QEMU="$qemu" MOAE_CPUINFO="$here/cpuinfo"
# Inside the namespaces: register qemu for aarch64 ELF executables (magic/mask of the ELF
# header with e_machine = EM_AARCH64; flag F: qemu is opened now, so it works in any mount),
# hide the x86 cpuinfo, then run the program.
exec unshare --user --map-root-user --mount -- bash -c '
  set -e
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || {
    echo "qemu-runner: cannot mount a private binfmt_misc (needs Linux >= 6.7 and user namespaces)" >&2
    exit 2; }
  printf "%s" ":qemu-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:$MOAE_QEMU:F" \
    > /proc/sys/fs/binfmt_misc/register
  mount --bind "$MOAE_CPUINFO" /proc/cpuinfo
  exec "$@"' qemu-runner "$@"
