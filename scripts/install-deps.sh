#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and running the module needs.
# Idempotent: packages already present are skipped by apt-get.
set -euo pipefail

packages=(
  build-essential cmake ninja-build clang-format git
  libtorch-dev                       # LibTorch 1.13.1 (CPU) for the network core
  libopenblas0-openmp                # Debian's LibTorch calls the system BLAS; the default
                                     # reference BLAS makes it 2.5x slower (docs/benchmarks.md)
  libinsighttoolkit5-dev             # ITK 5.2.1 for the filters
  libvtk9-dev                        # VTK 9.1 for pictures: imaging + FreeType text, no OpenGL,
                                     # so no display (and no Xvfb) is needed
  libgtest-dev libbenchmark-dev      # tests and benchmarks
  mricron-data                       # Colin27 T1 + label atlases (real data)
  elastix                            # peer registration tool for comparisons
  libfftw3-dev                       # ITK's demons and SyN peers (bench/peers) link FFTW through ITKFFT
  nlohmann-json3-dev                 # JSON for configurations and manifests
  zlib1g-dev                         # the completeness check of compressed NIfTI / MetaImage inputs
  python3                            # the CLI tests write a small MetaImage with it
  swig castxml python3-dev python3-numpy dpkg-dev
                                     # the wrapped ITK tree and the Python wrapping
                                     # (scripts/build-itk.sh --wrap-python; dpkg-dev: apt-get source)
  python3-torch                      # the Python tests run with PyTorch importable too (issue 19)
  python3-venv                       # the pinned torch wheel's environment (LibTorch 2.x build)
  libgloo-dev                        # Gloo's headers for c10d's ProcessGroupGloo (distributed training)
  libcli11-dev                       # CLI11 (header-only): the command line's option parsing
  clang libclang-rt-14-dev           # the sanitised build and libFuzzer (scripts/sanitize-and-fuzz.sh)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
