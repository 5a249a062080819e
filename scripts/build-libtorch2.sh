#!/usr/bin/env bash
# The second build of the module: the same sources against PyTorch's LibTorch 2.x with CUDA (the
# wheel pinned in scripts/torch-requirements.txt, installed by scripts/setup-torch-venv.sh)
# instead of Debian's LibTorch 1.13 for CPU; Debian's ITK and VTK as in scripts/build.sh. It runs
# on the CPU of a machine without a GPU too (the CUDA tests skip with their reason).
#   scripts/build-libtorch2.sh [BUILD_DIR [TARGET...]]   (default: build-libtorch2/, every target)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-libtorch2}
shift $(( $# > 0 ? 1 : 0 ))
targets=()
for target in "$@"; do targets+=(--target "$target"); done
torch_root=$(bash "$here/scripts/setup-torch-venv.sh")
# The folder of torch/__init__.py (not torch.utils.cmake_prefix_path, which CMake/SHMoARegDependencies.cmake
# also accepts): its lib/ is then searched before the system's.
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_root"
cmake --build "$build" -j "${SHMOAREG_JOBS:-2}" "${targets[@]}"
