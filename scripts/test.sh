#!/usr/bin/env bash
# README command 2 (and .ci/run): installs everything, builds, and runs every test through
# ctest, ending with ctest's summary.
#
#  1. The module against Debian's installed ITK (plain CMake): every C++ and command-line test.
#  2. The module the standard ITK way (ITKModuleExternal, itk_module_add_library, ITK's test
#     driver) against an ITK build tree with Python wrapping, which also builds the module's
#     wrapping and runs its Python tests. The wrapped ITK tree is built from Debian's ITK source
#     package when it is not cached (scripts/build-itk.sh --wrap-python; 15 minutes cold on
#     2 cores, under a second when cached: docs/python.md). Steps 1-2 took 32 minutes from a clean
#     clone with an empty cache (CI: 1714 s). Steps 3-4, measured cold here on 2 quiet cores: the
#     torch venv 67 s (cached after), the 2.x build 744 s and its tests about 260 s, the sanitiser
#     and fuzz step about 13 minutes: about 70 minutes in all (not yet timed from a clean clone).
#     SHMOAREG_BUILD_WRAPPED_ITK=0 skips that cold build; the module path then uses a cached plain
#     ITK tree if there is one, and a line says what did not run.
#  3. The module against PyTorch's LibTorch 2.x with CUDA (scripts/build-libtorch2.sh), on the CPU.
#  4. The module's code with AddressSanitizer + UndefinedBehaviorSanitizer, and its fuzzers
#     (scripts/sanitize-and-fuzz.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/scripts/install-deps.sh"
bash "$here/scripts/build.sh" "$here/build"

cache=${SHMOAREG_CACHE:-$HOME/.cache/shmoareg}
wrapped_tree=$cache/itk-5.2.1-wrapped-build
plain_tree=$cache/itk-5.2.1-plain-build
status=0
mkdir -p "$cache"
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
(cd "$here/build" && ctest --output-on-failure -j 2) || status=1

# 3. The same sources and tests against PyTorch's LibTorch 2.x with CUDA (the pinned wheel, in a
#    cached virtual environment), on the CPU: the tests that need a GPU skip with their reason.
#    SHMOAREG_LIBTORCH2=0 skips it (a line says so).
if [ "${SHMOAREG_LIBTORCH2:-1}" != 0 ]; then
  echo "== LibTorch 2.x (PyTorch's wheel): scripts/build-libtorch2.sh"
  start=$(date +%s)
  if bash "$here/scripts/build-libtorch2.sh" "$here/build-libtorch2" > "$cache/build-libtorch2.log" 2>&1; then
    echo "   built in $(($(date +%s) - start)) s (log: $cache/build-libtorch2.log)"
    # The C++ tests (network core, bridge, filters, training, pictures) and the command line's
    # register test; the other command-line tests exercise the same LibTorch calls through the same
    # code and run in the builds above (all 131 passed here on 2.15: docs/benchmarks.md), which
    # keeps CI inside its time.
    echo "== C++ tests and the register command (Debian's installed ITK, LibTorch 2.x)"
    (cd "$here/build-libtorch2" && ctest --output-on-failure -j 2 -L 'network|bridge|training|visualization|itk') ||
      status=1
    (cd "$here/build-libtorch2" && ctest --output-on-failure -R '^shmoaregRegisterCommand$') || status=1
  else
    echo "   FAILED after $(($(date +%s) - start)) s; the end of $cache/build-libtorch2.log:"
    tail -30 "$cache/build-libtorch2.log"
    status=1
  fi
else
  echo "== LibTorch 2.x build and tests NOT run (SHMOAREG_LIBTORCH2=0)"
fi

# 4. The module's code under AddressSanitizer + UndefinedBehaviorSanitizer (clang): the C++ tests,
#    then each libFuzzer target for FUZZ_SECONDS (30 here, to keep CI inside its time; 60 by
#    default when run alone). SHMOAREG_SANITIZE=0 skips it (a line says so).
if [ "${SHMOAREG_SANITIZE:-1}" != 0 ]; then
  echo "== Sanitisers and fuzzing: scripts/sanitize-and-fuzz.sh"
  start=$(date +%s)
  FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash "$here/scripts/sanitize-and-fuzz.sh" "$here/build-sanitize" || status=1
  echo "   $(($(date +%s) - start)) s"
else
  echo "== Sanitised tests and fuzzing NOT run (SHMOAREG_SANITIZE=0)"
fi
exit $status
