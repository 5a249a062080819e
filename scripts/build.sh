#!/usr/bin/env bash
# Configures and builds the module with CMake and Ninja against Debian's installed ITK.
#   scripts/build.sh [BUILD_DIR [TARGET...]]   (default: build/, every target)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
shift $(( $# > 0 ? 1 : 0 ))
targets=()
for target in "$@"; do targets+=(--target "$target"); done
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
# Two jobs: a LibTorch translation unit takes ~1.5 GiB and these machines have 2 cores.
cmake --build "$build" -j "${SHMOAREG_JOBS:-2}" "${targets[@]}"
