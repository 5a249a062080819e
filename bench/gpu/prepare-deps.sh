#!/usr/bin/env bash
# Run here, before a GPU lease: copies the two build dependencies of the network core that the GPU
# machine's image lacks (nlohmann_json's headers and CMake files, googletest's sources: both from
# this machine's Debian packages, ~5 MB) into .device-deps/, which git ignores through
# .git/info/exclude and the device tool's `carry` sends along. bench/gpu/gpu-check.sh uses them.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
deps=$here/.device-deps
rm -rf "$deps"
mkdir -p "$deps/prefix/include" "$deps/prefix/share/cmake"
cp -r /usr/include/nlohmann "$deps/prefix/include/"
cp -r /usr/share/cmake/nlohmann_json "$deps/prefix/share/cmake/"
cp -r /usr/src/googletest "$deps/googletest"
grep -qx '/.device-deps/' "$here/.git/info/exclude" 2>/dev/null || echo '/.device-deps/' >> "$here/.git/info/exclude"
du -sh "$deps"
