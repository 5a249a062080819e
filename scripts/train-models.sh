#!/usr/bin/env bash
# Trains the shipped models and the same-budget baselines of docs/results.md, one preset after
# another, on the built-in synthetic Colin27 dataset (models/training/colin27-synthetic-3mm.json).
# Each run resumes from its checkpoint when one exists, so the script can be stopped and rerun.
#
#   scripts/train-models.sh [BUILD_DIR] [OUTPUT_ROOT] [PRESETS...]
#
# OUTPUT_ROOT defaults to ~/.cache/shmoareg/training (outside the work tree: checkpoints hold
# the Adam state). The finished SHMoAReg and SHMoAReg_diff models are copied to models/.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
root=${2:-$HOME/.cache/shmoareg/training}
shift $(( $# > 2 ? 2 : $# )) || true
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(SHMoAReg SHMoAReg_diff VM TM Pyramid 2casVM)
config="$here/models/training/colin27-synthetic-3mm.json"
exe="$build/src/cli/shmoareg"
[ -x "$exe" ] || { echo "train-models.sh: $exe not found; build first (scripts/build.sh)" >&2; exit 1; }
mkdir -p "$root"
for preset in "${presets[@]}"; do
  out="$root/$preset"
  if [ -f "$out/model.pt" ]; then
    echo "== $preset: $out/model.pt exists, skipped"
  else
    resume=()
    [ -f "$out/checkpoint.pt" ] && resume=(--resume)
    echo "== $preset -> $out ($(date -u +%H:%M:%S))"
    "$exe" train --config "$config" --preset "$preset" --output "$out" "${resume[@]}"
  fi
  case "$preset" in
    SHMoAReg|SHMoAReg_diff) "$exe" export --model "$out/model.pt" --output "$here/models/$preset.pt" ;;
  esac
done
