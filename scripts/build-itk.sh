#!/usr/bin/env bash
# Builds an ITK 5.2.1 build tree from Debian's source package, with only the ITK modules
# that this module lists in itk-module.cmake (DEPENDS and TEST_DEPENDS). A build tree is
# what ITK's standard external-module path (ITKModuleExternal) and the Python wrapping
# need; Debian's installed ITK has neither.
#
#   scripts/build-itk.sh [--wrap-python]
#
# The tree is cached outside the work tree (SHMOAREG_CACHE, default ~/.cache/shmoareg)
# and reused when present; the script prints the ITK_DIR to use on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${SHMOAREG_CACHE:-$HOME/.cache/shmoareg}
wrap=OFF
[ "${1:-}" = "--wrap-python" ] && wrap=ON
variant=itk-5.2.1-$([ "$wrap" = ON ] && echo wrapped || echo plain)
src=$cache/itk-5.2.1-src
build=$cache/$variant-build
jobs=${SHMOAREG_JOBS:-$(nproc)}

mkdir -p "$cache"
if [ ! -f "$src/CMakeLists.txt" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  # deb822 form with the same Signed-By as Debian's own entry: a one-line deb-src without
  # it conflicts with debian.sources and breaks every apt call.
  list=/etc/apt/sources.list.d/shmoareg-deb-src.sources
  if ! grep -rqsE "^(deb-src .*bookworm main|Types:.*deb-src)" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
      $SUDO tee "$list" >/dev/null
    $SUDO apt-get update
  fi
  tmp=$(mktemp -d "$cache/src.XXXX")
  (cd "$tmp" && apt-get source --download-only insighttoolkit5 &&
    dpkg-source --no-check -x insighttoolkit5_*.dsc itk)
  rm -rf "$src"
  mv "$tmp/itk" "$src"
  rm -rf "$tmp"
fi

# ITK modules this module needs, read from itk-module.cmake so the two never drift.
modules=$(sed -n '/^itk_module(/,/^)/p' "$here/itk-module.cmake" | grep -oE '\bITK[A-Za-z0-9]+\b' | sort -u)
module_flags=()
for m in $modules; do module_flags+=("-DModule_$m=ON"); done

wrap_flags=()
if [ "$wrap" = ON ]; then
  wrap_flags=(-DITK_WRAP_PYTHON=ON -DITK_USE_SYSTEM_SWIG=ON -DITK_USE_SYSTEM_CASTXML=ON
    -DITK_WRAP_IMAGE_DIMS=3 -DITK_WRAP_float=ON -DITK_WRAP_unsigned_char=ON
    -DITK_WRAP_signed_short=ON -DITK_WRAP_vector_float=ON -DITK_WRAP_double=OFF
    -DITK_WRAP_unsigned_short=OFF -DITK_WRAP_covariant_vector_float=OFF
    -DModule_ITKBridgeNumPy=ON)
fi

# Configured every time (cheap when nothing changed) so a module added to itk-module.cmake
# is switched on in a cached tree too.
# Debian's LibTorch loads OpenCV, which loads Debian's GDCM: an ITK tree with its own GDCM
# would put two copies of the gdcm:: symbols in one process (a double free at exit). Use the
# system GDCM, as Debian's ITK does.
dpkg-query -W -f='${Status}' libgdcm-dev 2>/dev/null | grep -q "install ok installed" ||
  { SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo; $SUDO apt-get install -y --no-install-recommends libgdcm-dev; }
if true; then
  cmake -S "$src" -B "$build" -G Ninja \
    -DITK_USE_SYSTEM_GDCM=ON \
    -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=ON -DBUILD_TESTING=OFF -DBUILD_EXAMPLES=OFF \
    -DITK_BUILD_DEFAULT_MODULES=OFF -DITK_SKIP_PATH_LENGTH_CHECKS=ON \
    "${module_flags[@]}" "${wrap_flags[@]}"
fi
# The stamp tells users of the cache (scripts/test.sh) that the tree is complete: an
# interrupted build leaves none.
rm -f "$build/.shmoareg-complete"
cmake --build "$build" -j "$jobs"
touch "$build/.shmoareg-complete"
echo "ITK_DIR=$build"
