#!/usr/bin/env bash
# shmoareg register end to end on mricron-data (moving: Colin27 at 1 mm with the AAL labels;
# fixed: an image on another grid, the 2 mm JHU atlas), then: a failing run leaves no output.
set -euo pipefail
shmoareg=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
t=/usr/share/mricron/templates

# --version: the module, ITK and LibTorch versions and the model format; exit 0. Exit codes:
# 0 success, 2 a usage error (an unknown command), 1 bad data (a missing model file).
version=$("$shmoareg" --version)
echo "$version" | grep -Eq "^shmoareg [0-9]+\.[0-9]+\.[0-9]+ \(ITK 5\.[0-9]+\.[0-9]+, LibTorch [0-9]+\.[0-9]+.*CUDA .*model format [0-9]+\)$" ||
  { echo "FAIL: --version: $version"; exit 1; }
set +e
"$shmoareg" no-such-command > /dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: an unknown command is not exit 2"; exit 1; }
"$shmoareg" info --model /nonexistent.pt > /dev/null 2>&1
[ $? -eq 1 ] || { echo "FAIL: a missing model file is not exit 1"; exit 1; }
set -e

"$shmoareg" register --preset VM --grid 32 --device cpu \
  --fixed $t/JHU-WhiteMatter-labels-2mm.nii.gz --moving $t/ch2bet.nii.gz --moving-labels $t/aal.nii.gz \
  --output-field "$out/field.nii.gz" --output-warped "$out/warped.nii.gz" \
  --output-warped-labels "$out/labels.nii.gz"
for f in field warped labels; do
  [ -s "$out/$f.nii.gz" ] || { echo "FAIL: $f.nii.gz was not written"; exit 1; }
done
"$shmoareg" info --model /nonexistent.pt >/dev/null 2>&1 && { echo "FAIL: info accepted a missing model"; exit 1; }

# A label map with non-integer values (the interpolated warped image) is refused by name, and
# no output (final or temporary) is left.
mkdir "$out/failed"
python3 - "$out" <<'PY'
import array, sys
folder = sys.argv[1]
with open(folder + "/fractional.raw", "wb") as raw:
    array.array("f", [i / 7.0 for i in range(16 ** 3)]).tofile(raw)
open(folder + "/fractional.mhd", "w").write(
    "ObjectType = Image\nNDims = 3\nDimSize = 16 16 16\nElementSpacing = 2 2 2\n"
    "ElementType = MET_FLOAT\nElementDataFile = fractional.raw\n")
PY
set +e
message=$("$shmoareg" register --preset VM --grid 16 --device cpu \
  --fixed "$out/fractional.mhd" --moving "$out/fractional.mhd" --moving-labels "$out/fractional.mhd" \
  --output-field "$out/failed/field.nii.gz" --output-warped "$out/failed/warped.nii.gz" \
  --output-warped-labels "$out/failed/labels.nii.gz" 2>&1)
code=$?
set -e
[ $code -eq 1 ] || { echo "FAIL: exit code $code for a non-integer label map"; exit 1; }
echo "$message" | grep -q "not a label" || { echo "FAIL: message does not name the problem: $message"; exit 1; }
[ -z "$(ls -A "$out/failed")" ] || { echo "FAIL: files left behind: $(ls "$out/failed")"; exit 1; }

# An unreadable moving image.
set +e
message=$("$shmoareg" register --preset VM --fixed $t/ch2bet.nii.gz --moving "$out/none.nii.gz" \
  --output-field "$out/failed/f.nii.gz" --output-warped "$out/failed/w.nii.gz" 2>&1)
code=$?
set -e
[ $code -eq 1 ] && echo "$message" | grep -q "none.nii.gz" || { echo "FAIL: unreadable image: $code $message"; exit 1; }
[ -z "$(ls -A "$out/failed")" ] || { echo "FAIL: files left behind"; exit 1; }
# Bad refinement and network-pass settings: usage errors (exit 2) that name the option, nothing written.
for bad in "--refinement slow" "--io-iterations -3" "--io-similarity mi" "--refinement none --io-iterations 5" \
  "--refinement none --refine-from-identity" "--io-learning-rate 0" "--network-passes 0" "--network-passes two" "--io-levels 4:80,0.5:10" "--io-levels 4" \
  "--io-levels 4:x" "--io-levels ,"  "--io-smoothing-passes -1" "--refinement none --io-levels 2:5" \
  "--network-fov 144,180" "--network-fov 0,100,100" "--network-fov 1,2,3,4" "--network-fov whole"; do
  set +e
  # shellcheck disable=SC2086
  message=$("$shmoareg" register --preset VM --grid 16 --device cpu --fixed "$out/fractional.mhd" \
    --moving "$out/fractional.mhd" --output-field "$out/failed/f.nii.gz" --output-warped "$out/failed/w.nii.gz" $bad 2>&1)
  code=$?
  set -e
  [ $code -eq 2 ] && echo "$message" | grep -q -- "--" || { echo "FAIL: $bad: exit $code: $message"; exit 1; }
  echo "$message" | grep -q "frame #" && { echo "FAIL: $bad: a library trace: $message"; exit 1; }
  [ -z "$(ls -A "$out/failed")" ] || { echo "FAIL: $bad: files left behind"; exit 1; }
done
echo "register test passed"
