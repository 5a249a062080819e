#!/usr/bin/env bash
# README command 1: installs everything, builds, and runs the main job: registers a real-MRI pair
# with the shipped model (models/SHMoAReg.pt). The pair is made from mricron-data's Colin27 T1
# and its AAL labels by the built-in synthetic generator with seed 2026, whose subjects training
# never saw (the models were trained on seed 1's train split). Writes, under build/demo/:
# field.nii.gz (fixed -> moving, mm, ITK's convention), warped.nii.gz, warped-labels.nii.gz,
# metrics.json (Dice and ASSD before and after, % det J <= 0, seconds) and registration.png
# with .vti files for ParaView.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/scripts/install-deps.sh"
# Only the command line: the tests, benchmarks and examples are not needed for the demo.
bash "$here/scripts/build.sh" "$here/build" shmoareg
shmoareg="$here/build/src/cli/shmoareg"
demo="$here/build/demo"
mkdir -p "$demo"
"$shmoareg" info --model "$here/models/SHMoAReg.pt" | sed -n 1,2p
[ -f "$demo/pair/manifest.json" ] || "$shmoareg" synthesize --seed 2026 --test 2 --output "$demo/pair"
"$shmoareg" register --device cpu --threads "$(nproc)" \
  --fixed "$demo/pair/test0_image.nii.gz" --moving "$demo/pair/test1_image.nii.gz" \
  --fixed-labels "$demo/pair/test0_labels.nii.gz" --moving-labels "$demo/pair/test1_labels.nii.gz" \
  --output-field "$demo/field.nii.gz" --output-warped "$demo/warped.nii.gz" \
  --output-warped-labels "$demo/warped-labels.nii.gz" --output-metrics "$demo/metrics.json"
"$shmoareg" render --device cpu --threads "$(nproc)" \
  --fixed "$demo/pair/test0_image.nii.gz" --moving "$demo/pair/test1_image.nii.gz" \
  --fixed-labels "$demo/pair/test0_labels.nii.gz" --moving-labels "$demo/pair/test1_labels.nii.gz" \
  --output "$demo/registration.png" --vti-prefix "$demo/registration"
echo "metrics: $demo/metrics.json"
cat "$demo/metrics.json"
