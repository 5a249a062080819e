#!/usr/bin/env bash
# Debian's LibTorch 1.13 (CPU) against PyTorch's LibTorch 2.x (the CUDA wheel, on the CPU) in one
# run, interleaved: for each grid and mode, the benchmark of one build then the other's, each in
# its own process (median of repeats after a warm-up). Prints a Markdown table.
#
#   bench/libtorch_versions.sh BUILD_1_13 BUILD_2X [SIZES] [MODES]
#   e.g. bench/libtorch_versions.sh build build-libtorch2 "48x60x48 128" "inference train refine"
# THREADS (default 2), PRESET (default SHMoAReg) or MODEL (a model file: its architecture, e.g.
# models/SHMoAReg.pt); refine times the `fast` instance optimisation on
# a 1 mm grid of 160 x 192 x 160 whatever SIZES say.
set -euo pipefail
first=${1:?usage: libtorch_versions.sh BUILD_1_13 BUILD_2X [SIZES] [MODES]}
second=${2:?usage: libtorch_versions.sh BUILD_1_13 BUILD_2X [SIZES] [MODES]}
sizes=${3:-"48x60x48 128"}
modes=${4:-"inference train refine"}
threads=${THREADS:-2}
preset=${PRESET:-SHMoAReg}
model=${MODEL:-}
benchmark() { find "$1" -name shmoareg_network_benchmark -type f -perm -u+x | head -n 1; }
declare -A exe=([a]=$(benchmark "$first") [b]=$(benchmark "$second"))
for k in a b; do [ -n "${exe[$k]}" ] || { echo "shmoareg_network_benchmark not found" >&2; exit 1; }; done
version() { "$1" --size 8 --repeats 1 --threads 1 | tr ' ' '\n' | sed -n 's/^libtorch=//p'; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), threads=$threads, $([ -n "$model" ] && echo "model=$model" || echo "preset=$preset")"
echo "A: $first (LibTorch $(version "${exe[a]}"))"
echo "B: $second (LibTorch $(version "${exe[b]}"))"
echo
echo "| grid | mode | A median s | B median s | B / A | A peak RSS GiB | B peak RSS GiB |"
echo "|---|---|---:|---:|---:|---:|---:|"
get() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
for mode in $modes; do
  for size in $sizes; do
    [ "$mode" = refine ] && size=160x192x160
    declare -A line=()
    for k in a b; do
      repeats=3
      [ "$mode" != inference ] && repeats=2
      line[$k]=$("${exe[$k]}" --preset "$preset" ${model:+--model "$model"} --size "$size" --mode "$mode" --repeats "$repeats" --threads "$threads" --refinement fast)
    done
    ma=$(get "${line[a]}" median_s) mb=$(get "${line[b]}" median_s)
    echo "| $size | $mode | $ma | $mb | $(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%.2f", b / a }') | $(get "${line[a]}" peak_rss_GiB) | $(get "${line[b]}" peak_rss_GiB) |"
    [ "$mode" = refine ] && break
  done
done
