#!/usr/bin/env bash
# README command 2 (and .ci/run): installs everything, builds, and runs every test through
# ctest, ending with ctest's summary.
#
# When a cached ITK build tree exists (scripts/build-itk.sh), the module is also built the
# standard ITK way (ITKModuleExternal, itk_module_add_library, ITK's test driver) and its
# tests run too; without one, a line says so: a cold ITK build (1,633 steps) takes tens of minutes on 2 cores,
# more than CI can spend beside everything else.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/scripts/install-deps.sh"
bash "$here/scripts/build.sh" "$here/build"

cache=${SHMOAREG_CACHE:-$HOME/.cache/shmoareg}
itk_tree=$cache/itk-5.2.1-plain-build
status=0
if [ -f "$itk_tree/.shmoareg-complete" ]; then
  echo "== ITK module path: building against the ITK build tree $itk_tree"
  cmake -S "$here" -B "$here/build-itk-module" -G Ninja -DCMAKE_BUILD_TYPE=Release -DITK_DIR="$itk_tree" \
    -DSHMOAREG_BUILD_BENCHMARKS=OFF
  cmake --build "$here/build-itk-module" -j "${SHMOAREG_JOBS:-2}"
  (cd "$here/build-itk-module" && ctest --output-on-failure -j 2) || status=1
else
  echo "== ITK module path NOT tested here: no cached ITK build tree at $itk_tree"
  echo "   (scripts/build-itk.sh builds one from Debian's ITK source package: 1,633 steps, tens of minutes on 2 cores)"
fi

echo "== All tests (Debian's installed ITK)"
cd "$here/build"
ctest --output-on-failure -j 2
exit $status
