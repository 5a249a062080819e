#!/usr/bin/env bash
# README command 2 (and .ci/run): installs everything, builds, and runs every test through
# ctest, ending with ctest's summary.
#
#  1. The module against Debian's installed ITK (plain CMake): every C++ and command-line test.
#  2. The module the standard ITK way (ITKModuleExternal, itk_module_add_library, ITK's test
#     driver) against an ITK build tree with Python wrapping, which also builds the module's
#     wrapping and runs its Python tests. The wrapped ITK tree is built from Debian's ITK source
#     package when it is not cached (scripts/build-itk.sh --wrap-python; 15 minutes cold on
#     2 cores, under a second when cached: docs/python.md). The whole script took 32 minutes
#     from a clean clone with an empty cache. SHMOAREG_BUILD_WRAPPED_ITK=0 skips that cold build; the module
#     path then uses a cached plain ITK tree if there is one, and a line says what did not run.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/scripts/install-deps.sh"
bash "$here/scripts/build.sh" "$here/build"

cache=${SHMOAREG_CACHE:-$HOME/.cache/shmoareg}
wrapped_tree=$cache/itk-5.2.1-wrapped-build
plain_tree=$cache/itk-5.2.1-plain-build
status=0
if [ "${SHMOAREG_BUILD_WRAPPED_ITK:-1}" != 0 ]; then
  # Cheap when the cached tree is up to date; cold, the longest step of this script.
  echo "== The wrapped ITK tree: scripts/build-itk.sh --wrap-python ($([ -f "$wrapped_tree/.shmoareg-complete" ] &&
    echo cached || echo "not cached: a cold build"))"
  start=$(date +%s)
  mkdir -p "$cache"
  if bash "$here/scripts/build-itk.sh" --wrap-python > "$cache/build-itk-wrapped.log" 2>&1; then
    echo "   ready in $(($(date +%s) - start)) s (log: $cache/build-itk-wrapped.log)"
  else
    echo "   FAILED after $(($(date +%s) - start)) s; the end of $cache/build-itk-wrapped.log:"
    tail -30 "$cache/build-itk-wrapped.log"
    status=1
  fi
fi
itk_tree=
if [ -f "$wrapped_tree/.shmoareg-complete" ]; then
  itk_tree=$wrapped_tree
elif [ -f "$plain_tree/.shmoareg-complete" ]; then
  bash "$here/scripts/build-itk.sh" > "$cache/build-itk-plain.log" 2>&1 || status=1 # brought up to date
  itk_tree=$plain_tree
  echo "== Python wrapping tests NOT run: no wrapped ITK tree at $wrapped_tree (SHMOAREG_BUILD_WRAPPED_ITK=0)"
else
  echo "== ITK module path and Python wrapping tests NOT run: no ITK build tree under $cache"
  echo "   (scripts/build-itk.sh [--wrap-python] builds one from Debian's ITK source package)"
fi
if [ -n "$itk_tree" ]; then
  echo "== ITK module path: building against the ITK build tree $itk_tree"
  # A build folder configured against the other tree starts over.
  if grep -qs "^ITK_DIR:PATH=" "$here/build-itk-module/CMakeCache.txt" &&
    ! grep -qsx "ITK_DIR:PATH=$itk_tree" "$here/build-itk-module/CMakeCache.txt"; then
    rm -rf "$here/build-itk-module"
  fi
  cmake -S "$here" -B "$here/build-itk-module" -G Ninja -DCMAKE_BUILD_TYPE=Release -DITK_DIR="$itk_tree" \
    -DSHMOAREG_BUILD_BENCHMARKS=OFF -DPython3_EXECUTABLE=/usr/bin/python3
  cmake --build "$here/build-itk-module" -j "${SHMOAREG_JOBS:-2}"
  (cd "$here/build-itk-module" && ctest --output-on-failure -j 2) || status=1
fi

echo "== All tests (Debian's installed ITK)"
cd "$here/build"
ctest --output-on-failure -j 2 || status=1
exit $status
