#!/usr/bin/env bash
# Creates (once) a virtual environment holding PyTorch's wheel at the version pinned in
# scripts/torch-requirements.txt, for its LibTorch 2.x with CUDA (about 3 GB with its nvidia-*
# wheels), and prints the folder to pass to CMake (the folder of torch/__init__.py, which holds
# lib/, include/ and share/cmake/).
#
#   scripts/setup-torch-venv.sh        # prints e.g. ~/.cache/shmoareg/torch-venv/lib/python3.11/site-packages/torch
#
# SHMOAREG_TORCH_VENV: the folder (default ~/.cache/shmoareg/torch-venv); PYTHON: the interpreter
# that creates it (default /usr/bin/python3). Cached: a stamp holds the hash of the requirements
# and of this script; nothing changed, it returns at once.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${SHMOAREG_TORCH_VENV:-${SHMOAREG_CACHE:-$HOME/.cache/shmoareg}/torch-venv}
python=${PYTHON:-/usr/bin/python3}
requirements="$here/torch-requirements.txt"
stamp="$venv/.shmoareg-requirements.sha256"
hash=$(cat "$requirements" "$0" | sha256sum | cut -d' ' -f1)
torch_root() { "$venv/bin/python" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2> /dev/null; }
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
  torch_root
  exit 0
fi
rm -f "$stamp"
if [ ! -x "$venv/bin/python" ]; then
  echo "setup-torch-venv.sh: creating $venv with $("$python" --version 2>&1)" >&2
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check --no-input)
"${pip[@]}" install -q --upgrade pip==25.3 >&2
"${pip[@]}" install -q --no-cache-dir -r "$requirements" >&2
root=$(torch_root)
[ -f "$root/share/cmake/Torch/TorchConfig.cmake" ] || { echo "setup-torch-venv.sh: no TorchConfig.cmake under $root" >&2; exit 1; }
echo "$hash" > "$stamp"
echo "$root"
