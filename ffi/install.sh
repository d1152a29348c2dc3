#!/usr/bin/env bash
# Installs libmoae into a prefix (the documented layout, see ffi/README.md):
#   PREFIX/include/moae.h, PREFIX/include/moae.hpp, PREFIX/lib/libmoae.{so,a},
#   PREFIX/lib/pkgconfig/moae.pc, PREFIX/lib/cmake/moae/moaeConfig{,Version}.cmake
# Usage: ffi/install.sh PREFIX [LIB_DIR]
#   LIB_DIR holds the built libmoae.so and libmoae.a (default: target/release; build it first
#   with `cargo build --release -p moae-ffi`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${1:?usage: ffi/install.sh PREFIX [LIB_DIR]}"
libdir_in="${2:-$root/target/release}"
for f in libmoae.so libmoae.a; do
  [[ -f "$libdir_in/$f" ]] || { echo "install.sh: $libdir_in/$f not found; run: cargo build --release -p moae-ffi" >&2; exit 1; }
done
version="$(sed -n 's/^#define MOAE_VERSION_MAJOR \([0-9]*\)$/\1/p' "$root/include/moae.h").$(sed -n 's/^#define MOAE_VERSION_MINOR \([0-9]*\)$/\1/p' "$root/include/moae.h").$(sed -n 's/^#define MOAE_VERSION_PATCH \([0-9]*\)$/\1/p' "$root/include/moae.h")"
mkdir -p "$prefix/include" "$prefix/lib/pkgconfig" "$prefix/lib/cmake/moae"
prefix="$(cd "$prefix" && pwd)"
install -m 644 "$root/include/moae.h" "$root/bindings/cpp/moae.hpp" "$prefix/include/"
install -m 755 "$libdir_in/libmoae.so" "$prefix/lib/libmoae.so.$version"
ln -sf "libmoae.so.$version" "$prefix/lib/libmoae.so"
install -m 644 "$libdir_in/libmoae.a" "$prefix/lib/libmoae.a"
subst() { sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" "$1" > "$2"; }
subst "$root/ffi/pkg/moae.pc.in" "$prefix/lib/pkgconfig/moae.pc"
subst "$root/ffi/pkg/moaeConfig.cmake.in" "$prefix/lib/cmake/moae/moaeConfig.cmake"
subst "$root/ffi/pkg/moaeConfigVersion.cmake.in" "$prefix/lib/cmake/moae/moaeConfigVersion.cmake"
echo "installed libmoae $version into $prefix"
