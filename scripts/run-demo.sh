#!/usr/bin/env bash
# README command 1: installs everything, builds, and runs the main job on real MRI data:
# the SHMoAReg network on the Colin27 brain (mricron-data), printing the preset, the
# parameter count, the output shapes and the time, then the registration figure
# (build/demo/registration.png) and its .vti files for ParaView.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/scripts/install-deps.sh"
bash "$here/scripts/build.sh" "$here/build"
templates=/usr/share/mricron/templates
"$here/build/src/cli/shmoareg" presets
"$here/build/src/cli/shmoareg" forward --preset SHMoAReg \
  --fixed "$templates/ch2bet.nii.gz" --moving "$templates/ch2better.nii.gz" --size 128 --threads "$(nproc)"
mkdir -p "$here/build/demo"
"$here/build/src/cli/shmoareg" render --preset SHMoAReg --grid 128 --threads "$(nproc)" \
  --fixed "$templates/ch2bet.nii.gz" --moving "$templates/ch2better.nii.gz" \
  --fixed-labels "$templates/aal.nii.gz" \
  --output "$here/build/demo/registration.png" --vti-prefix "$here/build/demo/registration"
