#!/usr/bin/env bash
# Runs the network benchmark for several presets and sizes side by side (interleaved, one
# process per measurement so that peak memory is per preset) and prints a Markdown table.
#
#   bench/network_benchmark.sh BUILD_DIR [SIZES] [PRESETS] [MODES]
#   e.g. bench/network_benchmark.sh build "64 128" "SHMoAReg SHMoAReg_diff VM TM" "inference train"
set -euo pipefail
build=${1:?usage: network_benchmark.sh BUILD_DIR [SIZES] [PRESETS] [MODES]}
sizes=${2:-"64 128"}
presets=${3:-"SHMoAReg SHMoAReg_diff VM TM"}
modes=${4:-"inference train"}
threads=${THREADS:-2}
device=${DEVICE:-cpu}
exe=$(find "$build" -name shmoareg_network_benchmark -type f -perm -u+x | head -n 1)
[ -n "$exe" ] || { echo "shmoareg_network_benchmark not found under $build" >&2; exit 1; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), threads=$threads, device=$device"
echo
echo "| preset | size | mode | params (M) | median s | min s | peak RSS GiB |"
echo "|---|---:|---|---:|---:|---:|---:|"
for size in $sizes; do
  for mode in $modes; do
    repeats=3
    [ "$mode" = train ] && repeats=2
    for preset in $presets; do
      line=$("$exe" --preset "$preset" --size "$size" --mode "$mode" --repeats "$repeats" --threads "$threads" --device "$device")
      get() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
      echo "| $preset | $size | $mode | $(get params_M) | $(get median_s) | $(get min_s) | $(get peak_rss_GiB) |"
    done
  done
done
