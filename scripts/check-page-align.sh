#!/usr/bin/env bash
# Checks that every LOAD segment of each ELF shared library given has an alignment of at least
# 16 KiB (16384), as Google Play requires of native libraries in apps targeting Android 15+
# (devices with 16 KB pages cannot map a 4 KB-aligned segment).
# Usage: scripts/check-page-align.sh FILE...   (exit 0: all aligned; 1: one is not; 2: usage)
# Build flag that produces it: -C link-arg=-Wl,-z,max-page-size=16384 (android/build-native.sh).
set -euo pipefail
min=16384
(($# > 0)) || { echo "usage: $0 FILE.so..." >&2; exit 2; }
command -v readelf >/dev/null || { echo "check-page-align: readelf not found (binutils)" >&2; exit 2; }

bad=0
for f in "$@"; do
  if [[ ! -f "$f" ]]; then
    echo "check-page-align: $f: no such file" >&2
    bad=1
    continue
  fi
  # `readelf -lW`: one line per program header; for LOAD the last field is Align (hex).
  if ! headers="$(LC_ALL=C readelf -lW "$f" 2>&1)"; then
    echo "check-page-align: $f: not an ELF file readelf can read: $headers" >&2
    bad=1
    continue
  fi
  aligns="$(awk '$1 == "LOAD" { print $NF }' <<<"$headers")"
  if [[ -z "$aligns" ]]; then
    echo "check-page-align: $f: no LOAD segment found" >&2
    bad=1
    continue
  fi
  n=0
  file_bad=0
  while read -r a; do
    n=$((n + 1))
    if (( a < min )); then
      printf 'check-page-align: %s: LOAD segment %d is aligned to %d bytes, under %d: link with -Wl,-z,max-page-size=16384\n' \
        "$f" "$n" "$((a))" "$min" >&2
      file_bad=1
    fi
  done <<<"$aligns"
  if ((file_bad)); then
    bad=1
  else
    printf 'check-page-align: %s: %d LOAD segments, all aligned to >= %d\n' "$f" "$n" "$min"
  fi
done
exit "$bad"
