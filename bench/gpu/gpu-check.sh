#!/usr/bin/env bash
# The prepared GPU check of issue 15, sized for one lease of the device tool (15 minutes in all,
# under 10 minutes a call): on a machine with an NVIDIA GPU and PyTorch's CUDA LibTorch,
#  1. builds the network core (-DSHMOAREG_NETWORK_ONLY=ON: no ITK on that machine) with its tests
#     and the benchmark against python3's torch (torch.utils.cmake_prefix_path),
#  2. runs the core's tests, the CUDA ones included (they skip on a machine without a GPU),
#  3. times inference, a training step and the instance optimisation on the GPU, and the same
#     on the machine's CPU cores, at 128^3 and at the shipped model's grid.
# Everything it prints is also written under OUT_DIR (the device tool's $OUT).
#
#   here:  bash bench/gpu/prepare-deps.sh
#   there: bash bench/gpu/gpu-check.sh "$OUT"      (device tool: carry [".device-deps"])
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: gpu-check.sh OUT_DIR}
deps=$here/.device-deps
jobs=$(nproc)
mkdir -p "$out"
exec > >(tee "$out/gpu-check.log") 2>&1
step() { echo "== $* ($(date +%T))"; }

step "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
echo "$jobs cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
torch_cmake=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
python3 -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version())'
nvcc --version | tail -1

step "googletest from Debian's sources (carried)"
cmake -S "$deps/googletest" -B /tmp/gtest-build -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$deps/prefix" > /tmp/gtest-configure.log && cmake --build /tmp/gtest-build --target install > /tmp/gtest-build.log ||
  { tail -20 /tmp/gtest-*.log; exit 1; }

step "the network core against the GPU machine's LibTorch"
# sm_90 only: the H200 (a build for every architecture takes minutes longer; no .cu here anyway).
start=$(date +%s)
cmake -S "$here" -B /tmp/build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DSHMOAREG_NETWORK_ONLY=ON \
  -DCMAKE_PREFIX_PATH="$torch_cmake;$deps/prefix" -DTORCH_CUDA_ARCH_LIST=9.0 > "$out/configure.log" 2>&1 ||
  { tail -30 "$out/configure.log"; exit 1; }
grep -E "LibTorch|CUDA" "$out/configure.log" | head -5
cmake --build /tmp/build-cuda -j "$jobs" > "$out/build.log" 2>&1 || { grep -B2 -A12 -m3 "error" "$out/build.log"; exit 1; }
echo "built in $(($(date +%s) - start)) s"

step "the CUDA tests"
(cd /tmp/build-cuda && ./test/network/SHMoARegNetworkTests --gtest_filter='Cuda.*' > "$out/cuda-tests.log" 2>&1)
tests_status=$?
grep -E "^\[ +(OK|FAILED|SKIPPED) +\]|error|mean end-point|difference|Failure" "$out/cuda-tests.log"

bench=$(find /tmp/build-cuda -name shmoareg_network_benchmark -type f | head -1)
time_one() { # device threads label size mode [preset|refinement]
  local line
  if [ "$5" = refine ]; then
    line=$(timeout 200 "$bench" --size "$4" --mode refine --refinement "$6" --repeats 2 --threads "$2" --device "$1")
  else
    line=$(timeout 150 "$bench" --preset "$6" --size "$4" --mode "$5" --repeats 3 --threads "$2" --device "$1")
  fi
  get() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
  echo "| $1 ($2 threads) | $3 | $4 | $5 | $(get median_s) | $(get min_s) |"
}
step "GPU timings (median of repeats after one warm-up; each in its own process)"
echo "| device | what | size | mode | median s | min s |"
echo "|---|---|---|---|---:|---:|"
for size in 48x60x48 128; do
  for mode in inference train; do
    for preset in SHMoAReg SHMoAReg_diff; do time_one cuda 1 "$preset" "$size" "$mode" "$preset"; done
  done
done
for refinement in fast accurate; do time_one cuda 1 "refinement $refinement" 160x192x160 refine "$refinement"; done

step "the core's whole test suite"
# Eight tests at a time with two threads each: with every core per test process they thrash
# (the first lease ran out of time here).
(cd /tmp/build-cuda && OMP_NUM_THREADS=2 timeout 240 ctest --output-on-failure -j 8 --timeout 200 > "$out/ctest.log" 2>&1) || tests_status=1
grep -E "tests passed|Skipped|\(Failed\)|\*\*\*" "$out/ctest.log" | head -20

step "the same machine's CPU cores, for comparison"
echo "| device | what | size | mode | median s | min s |"
echo "|---|---|---|---|---:|---:|"
for mode in inference train; do time_one cpu "$jobs" SHMoAReg 48x60x48 "$mode" SHMoAReg; done
time_one cpu "$jobs" "refinement fast" 160x192x160 refine fast
step "done"
exit $tests_status
