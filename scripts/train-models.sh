#!/usr/bin/env bash
# Trains presets one after another with one training configuration: the same-budget baselines of
# docs/results.md. Each run resumes from its checkpoint when one exists, so the script can be
# stopped and rerun.
#
#   [CONFIG=FILE.json] scripts/train-models.sh [BUILD_DIR] [OUTPUT_ROOT] [NAMES...]
#
# NAMES are presets (SHMoAReg SHMoAReg_diff VM TM Pyramid 2casVM by default); PRESET-noSHMoE is
# the preset with its SHMoE layers replaced by one fixed kernel ("shmoe": false: the ablation).
# CONFIG defaults to models/training/colin27-synthetic-3mm.json (the first plan's budget; its
# SHMoAReg and SHMoAReg_diff are copied to models/); models/training/same-budget-variety-3mm.json
# is the shipped model's recipe from scratch (issue 22's comparison; nothing is copied).
# OUTPUT_ROOT defaults to ~/.cache/shmoareg/training (outside the work tree: checkpoints hold
# the Adam state). SHARED_DATA=FOLDER reuses a generated synthetic-data folder of the same
# options (linked into each run's output) instead of generating it once per run.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
root=${2:-$HOME/.cache/shmoareg/training}
shift $(( $# > 2 ? 2 : $# )) || true
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(SHMoAReg SHMoAReg_diff VM TM Pyramid 2casVM)
default_config="$here/models/training/colin27-synthetic-3mm.json"
config=${CONFIG:-$default_config}
exe="$build/src/cli/shmoareg"
[ -x "$exe" ] || { echo "train-models.sh: $exe not found; build first (scripts/build.sh)" >&2; exit 1; }
[ -f "$config" ] || { echo "train-models.sh: no configuration $config" >&2; exit 1; }
mkdir -p "$root"
for name in "${names[@]}"; do
  out="$root/$name"
  preset=${name%-noSHMoE}
  run_config=$config
  if [ "$preset" != "$name" ]; then
    mkdir -p "$out"
    run_config="$out/config.json"
    python3 -c 'import json, sys
c = json.load(open(sys.argv[1])); c.setdefault("network", {})["shmoe"] = False
json.dump(c, open(sys.argv[2], "w"), indent=1)' "$config" "$run_config"
  fi
  if [ -f "$out/model.pt" ]; then
    echo "== $name: $out/model.pt exists, skipped"
  else
    resume=()
    [ -f "$out/checkpoint.pt" ] && resume=(--resume)
    if [ -n "${SHARED_DATA:-}" ] && [ ! -e "$out/synthetic-data" ]; then
      mkdir -p "$out" && ln -s "$SHARED_DATA" "$out/synthetic-data"
    fi
    echo "== $name -> $out ($(date -u +%H:%M:%S))"
    "$exe" train --config "$run_config" --preset "$preset" --output "$out" "${resume[@]}"
  fi
  if [ "$config" = "$default_config" ] && [ "$preset" = "$name" ]; then
    case "$preset" in
      SHMoAReg|SHMoAReg_diff) "$exe" export --model "$out/model.pt" --output "$here/models/$preset.pt" ;;
    esac
  fi
done
