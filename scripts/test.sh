#!/usr/bin/env bash
# README command 2 (and .ci/run): installs everything, builds, and runs every test through
# ctest, ending with ctest's summary. Three builds, so that each axis is covered once without
# building and testing the same combination twice (CI has 90 minutes on 2 cores):
#
#  1. Plain CMake against Debian's installed ITK and PyTorch's LibTorch 2.x with CUDA (the pinned
#     wheel in a cached virtual environment: scripts/build-libtorch2.sh), run on the CPU: every
#     C++ and command-line test; the tests that need a GPU skip with their reason.
#     SHMOAREG_LIBTORCH2=0 builds against Debian's LibTorch 1.13 instead (scripts/build.sh, the
#     build of README command 1; no PyPI needed), and a line says so.
#  2. The module the standard ITK way (ITKModuleExternal, itk_module_add_library, ITK's test
#     driver) against an ITK build tree with Python wrapping and Debian's LibTorch 1.13: the ITK
#     test driver's tests, the examples and the Python tests (with and without Debian's
#     python3-torch importable). SHMOAREG_ITK_TESTS_ONLY: the network, training, picture and
#     command-line suites ran in build 1, and build 3 runs the C++ suites on 1.13 again, so
#     they are not repeated here. The
#     wrapped ITK tree is built from Debian's ITK source package when it is not cached
#     (scripts/build-itk.sh --wrap-python; 15 minutes cold on 2 cores, under a second when
#     cached: docs/python.md). SHMOAREG_BUILD_WRAPPED_ITK=0 skips that cold build; the module
#     path then uses a cached plain ITK tree if there is one, and a line says what did not run.
#  3. The module's code with AddressSanitizer + UndefinedBehaviorSanitizer (clang, Debian's
#     LibTorch), and its fuzzers (scripts/sanitize-and-fuzz.sh). SHMOAREG_SANITIZE=0 skips it.
#
# Each step prints its seconds; docs/benchmarks.md ("CI time") has them for a fresh clone: 42 min
# with the venv and the wrapped ITK tree cached, about 59 min with an empty cache.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
script_start=$(date +%s)
bash "$here/scripts/install-deps.sh"

cache=${SHMOAREG_CACHE:-$HOME/.cache/shmoareg}
mkdir -p "$cache"
status=0

# 1. Debian's ITK, LibTorch 2.x.
start=$(date +%s)
if [ "${SHMOAREG_LIBTORCH2:-1}" != 0 ]; then
  plain_build=$here/build-libtorch2
  echo "== Build 1: Debian's ITK, PyTorch's LibTorch 2.x (scripts/build-libtorch2.sh)"
  bash "$here/scripts/build-libtorch2.sh" "$plain_build"
else
  plain_build=$here/build
  echo "== Build 1: Debian's ITK, Debian's LibTorch 1.13 (SHMOAREG_LIBTORCH2=0: LibTorch 2.x NOT built or tested)"
  bash "$here/scripts/build.sh" "$plain_build"
fi
echo "   built in $(($(date +%s) - start)) s"
start=$(date +%s)
echo "== Build 1: every test"
(cd "$plain_build" && ctest --output-on-failure -j 2) || status=1
echo "   tested in $(($(date +%s) - start)) s"

# 2. The ITK module path, Debian's LibTorch 1.13, Python wrapping.
wrapped_tree=$cache/itk-5.2.1-wrapped-build
plain_tree=$cache/itk-5.2.1-plain-build
if [ "${SHMOAREG_BUILD_WRAPPED_ITK:-1}" != 0 ]; then
  # Cheap when the cached tree is up to date; cold, the longest step of this script.
  echo "== The wrapped ITK tree: scripts/build-itk.sh --wrap-python ($([ -f "$wrapped_tree/.shmoareg-complete" ] &&
    echo cached || echo "not cached: a cold build"))"
  start=$(date +%s)

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
  echo "== Build 2: the ITK module path against the ITK build tree $itk_tree, Debian's LibTorch 1.13"
  start=$(date +%s)
  # A build folder configured against the other tree starts over.
  if grep -qs "^ITK_DIR:PATH=" "$here/build-itk-module/CMakeCache.txt" &&
    ! grep -qsx "ITK_DIR:PATH=$itk_tree" "$here/build-itk-module/CMakeCache.txt"; then
    rm -rf "$here/build-itk-module"
  fi
  cmake -S "$here" -B "$here/build-itk-module" -G Ninja -DCMAKE_BUILD_TYPE=Release -DITK_DIR="$itk_tree" \
    -DSHMOAREG_BUILD_BENCHMARKS=OFF -DSHMOAREG_ITK_TESTS_ONLY=ON -DPython3_EXECUTABLE=/usr/bin/python3
  cmake --build "$here/build-itk-module" -j "${SHMOAREG_JOBS:-2}"
  echo "   built in $(($(date +%s) - start)) s"
  start=$(date +%s)
  echo "== Build 2: the ITK test driver's tests, the examples and the Python tests"
  (cd "$here/build-itk-module" && ctest --output-on-failure -j 2) || status=1
  echo "   tested in $(($(date +%s) - start)) s"
fi

# 3. The module's code under AddressSanitizer + UndefinedBehaviorSanitizer (clang): the C++ tests,
#    then each libFuzzer target for FUZZ_SECONDS (20 here, to keep CI inside its time; 60 by
#    default when run alone).
if [ "${SHMOAREG_SANITIZE:-1}" != 0 ]; then
  echo "== Build 3: sanitisers and fuzzing (scripts/sanitize-and-fuzz.sh)"
  start=$(date +%s)
  FUZZ_SECONDS=${FUZZ_SECONDS:-20} bash "$here/scripts/sanitize-and-fuzz.sh" "$here/build-sanitize" || status=1
  echo "   $(($(date +%s) - start)) s"
else
  echo "== Build 3: sanitised tests and fuzzing NOT run (SHMOAREG_SANITIZE=0)"
fi
echo "== scripts/test.sh: $(($(date +%s) - script_start)) s in all; $([ $status = 0 ] && echo "every step passed" || echo "a step FAILED (above)")"
exit $status
