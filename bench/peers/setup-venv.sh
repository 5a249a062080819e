#!/usr/bin/env bash
# Creates (once) the virtual environment of the PyPI registration peers that
# bench/registration_comparison.sh runs: ANTs (antspyx), elastix (itk-elastix), ConvexAdam,
# FireANTs, MONAI's VoxelMorph and nilearn (for the ICBM 2009a template of the `real` mode), at
# the versions pinned in bench/peers/requirements.txt. torch from PyPI is the CUDA build (about
# 3 GB with its nvidia-* wheels); everything here runs it on the CPU.
#
#   bench/peers/setup-venv.sh            # prints the environment's folder on stdout
#
# SHMOAREG_PEERS_VENV: the folder (default ~/.cache/shmoareg/peers-venv); PYTHON: the
# interpreter that creates it (default python3, 3.10 or newer). Cached: a stamp file holds the
# hash of the requirements and of this script, so a second run with nothing changed returns at
# once; a change of either reinstalls (pip keeps what already matches).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${SHMOAREG_PEERS_VENV:-$HOME/.cache/shmoareg/peers-venv}
python=${PYTHON:-python3}
requirements="$here/requirements.txt"
stamp="$venv/.shmoareg-requirements.sha256"
hash=$(cat "$requirements" "$0" | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
  echo "$venv"
  exit 0
fi
rm -f "$stamp"
if [ ! -x "$venv/bin/python" ]; then
  echo "setup-venv.sh: creating $venv with $("$python" --version 2>&1)" >&2
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check --no-input)
"${pip[@]}" install -q --upgrade pip==25.3 >&2
"${pip[@]}" install -r "$requirements" >&2
# Every peer imports (a broken wheel fails here, not in the middle of a comparison).
"$venv/bin/python" -c "import torch, ants, itk, convexAdam.convex_adam_MIND, fireants, monai, nilearn, nibabel" >&2
echo "$hash" > "$stamp"
echo "$venv"
