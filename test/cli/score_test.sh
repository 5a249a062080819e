#!/usr/bin/env bash
# shmoareg score on an analytic case: the moving labels are the fixed cube moved by +6 mm along x,
# so the constant field u = (6, 0, 0) mm (x -> x + u in the moving image) restores them exactly
# (Dice 1, ASSD 0, no folding), while the identity gives the known overlap of two cubes.
# Then shmoareg synthesize, and register's metrics summary; bad input leaves no output.
set -euo pipefail
shmoareg=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

python3 - "$out" <<'PY'
import array, sys
folder = sys.argv[1]
n, spacing = 20, 2.0  # 20^3 voxels of 2 mm; a cube of 8 voxels, shifted by 3 voxels (6 mm)
def cube(shift):
    data = array.array("h", [0] * n ** 3)
    for k in range(6, 14):
        for j in range(6, 14):
            for i in range(6 + shift, 14 + shift):
                data[(k * n + j) * n + i] = 5
    return data
def write(name, values, element, channels=1):
    with open(f"{folder}/{name}.raw", "wb") as raw:
        values.tofile(raw)
    header = (f"ObjectType = Image\nNDims = 3\nDimSize = {n} {n} {n}\nElementSpacing = {spacing} {spacing} {spacing}\n"
              f"ElementNumberOfChannels = {channels}\nElementType = {element}\nElementDataFile = {name}.raw\n")
    open(f"{folder}/{name}.mhd", "w").write(header)
write("fixed", cube(0), "MET_SHORT")
write("moving", cube(3), "MET_SHORT")
write("field", array.array("f", [6.0, 0.0, 0.0] * n ** 3), "MET_FLOAT", 3)
write("zero", array.array("f", [0.0] * (3 * n ** 3)), "MET_FLOAT", 3)
write("fractional", array.array("f", [i / 7.0 for i in range(n ** 3)]), "MET_FLOAT")
# A fixed mask: the voxels with x index >= 9.
write("mask", array.array("B", [1 if (v % n) >= 9 else 0 for v in range(n ** 3)]), "MET_UCHAR")
PY
# A mask far from the labels' grid.
sed 's/^ElementDataFile/Offset = 500 500 500\nElementDataFile/' "$out/mask.mhd" > "$out/far-mask.mhd"

row=$("$shmoareg" score --fixed-labels "$out/fixed.mhd" --moving-labels "$out/moving.mhd" --field "$out/field.mhd" \
        --method translation --pair p --seconds 1.5)
echo "$row" | awk -F, '$1 == "translation" && $2 == "p" && $3 == 1 && $4 == 0 && $5 == 0 && $6 == 1.5 { ok = 1 }
                      END { exit !ok }' || { echo "FAIL: translation row: $row"; exit 1; }
# Identity: cubes of 8^3 overlapping in 5 x 8 x 8: Dice 2 * 320 / 1024 = 0.625.
row=$("$shmoareg" score --header --fixed-labels "$out/fixed.mhd" --moving-labels "$out/moving.mhd")
[ "$(echo "$row" | head -n 1)" = "method,pair,dice,assd_mm,folding_percent,seconds,epe_mm" ] || { echo "FAIL: header: $row"; exit 1; }
echo "$row" | tail -n 1 | awk -F, '$1 == "identity" && $3 == 0.625 && $4 > 0 { ok = 1 } END { exit !ok }' ||
  { echo "FAIL: identity row: $row"; exit 1; }
# Within the fixed mask (x index >= 9) the fixed cube keeps 5 of its 8 columns and the moving
# cube (x index 9..16) all 8, overlapping in 5: Dice 2 * 5 / 13.
row=$("$shmoareg" score --fixed-labels "$out/fixed.mhd" --moving-labels "$out/moving.mhd" --fixed-mask "$out/mask.mhd")
echo "$row" | awk -F, '{ d = $3 - 10 / 13; exit !(d < 1e-6 && d > -1e-6) }' || { echo "FAIL: masked Dice: $row"; exit 1; }
# The end-point error against a known field: the fixed image is the atlas (zero field to it) and
# the moving one the atlas moved by +6 mm (its field from the atlas is +6 mm): the translation
# field has no error, the identity 6 mm; without a known field the column is empty.
known=(--fixed-to-atlas "$out/zero.mhd" --moving-from-atlas "$out/field.mhd")
row=$("$shmoareg" score --fixed-labels "$out/fixed.mhd" --moving-labels "$out/moving.mhd" --field "$out/field.mhd" "${known[@]}")
echo "$row" | awk -F, '{ exit !($7 != "" && $7 < 1e-5) }' || { echo "FAIL: EPE of the true field: $row"; exit 1; }
row=$("$shmoareg" score --fixed-labels "$out/fixed.mhd" --moving-labels "$out/moving.mhd" "${known[@]}")
echo "$row" | awk -F, '{ d = $7 - 6; exit !(d < 1e-5 && d > -1e-5) }' || { echo "FAIL: EPE of the identity: $row"; exit 1; }
row=$("$shmoareg" score --fixed-labels "$out/fixed.mhd" --moving-labels "$out/moving.mhd")
echo "$row" | awk -F, '{ exit !(NF == 7 && $7 == "") }' || { echo "FAIL: EPE without a known field: $row"; exit 1; }
set +e
message=$("$shmoareg" score --fixed-labels "$out/fixed.mhd" --moving-labels "$out/moving.mhd" --fixed-to-atlas "$out/zero.mhd" 2>&1)
code=$?
set -e
[ $code -eq 2 ] && echo "$message" | grep -q "go together" || { echo "FAIL: half a known field: $code $message"; exit 1; }
set +e
message=$("$shmoareg" score --fixed-labels "$out/fixed.mhd" --moving-labels "$out/moving.mhd" \
  --fixed-mask "$out/far-mask.mhd" 2>&1)
code=$?
[ $code -eq 1 ] && echo "$message" | grep -q "fixed mask does not overlap" || { echo "FAIL: far mask: $code $message"; exit 1; }
message=$("$shmoareg" score --fixed-labels "$out/fixed.mhd" --moving-labels "$out/fractional.mhd" 2>&1)
code=$?
set -e
[ $code -eq 1 ] && echo "$message" | grep -q "fractional.mhd" || { echo "FAIL: non-integer labels: $code $message"; exit 1; }

# register --initial-transform: the constant 6 mm field first, then an untrained (near-zero)
# network: the cubes coincide (Dice near 1, from 0.625); a scalar image is refused by name.
"$shmoareg" register --preset VM --grid 16 --device cpu --refinement none --fixed "$out/fixed.mhd" \
  --moving "$out/moving.mhd" --fixed-labels "$out/fixed.mhd" --moving-labels "$out/moving.mhd" --initial-transform "$out/field.mhd" \
  --output-field "$out/initial-field.nii.gz" --output-warped "$out/initial-warped.nii.gz" \
  --output-metrics "$out/initial.json" > /dev/null
python3 - "$out/initial.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert abs(m["dice_before"] - 0.625) < 1e-9 and m["dice"] > 0.95, m
PY
set +e
message=$("$shmoareg" register --preset VM --grid 16 --device cpu --fixed "$out/fixed.mhd" --moving "$out/moving.mhd" \
  --initial-transform "$out/fixed.mhd" --output-field "$out/f3.nii.gz" --output-warped "$out/w3.nii.gz" 2>&1)
code=$?
set -e
[ $code -eq 1 ] && echo "$message" | grep -q "is not a 3D displacement field" || { echo "FAIL: scalar initial transform: $message"; exit 1; }
[ ! -e "$out/f3.nii.gz" ] || { echo "FAIL: output left behind"; exit 1; }
# render reads the same option (the same refusal shows it is not ignored).
set +e
message=$("$shmoareg" render --preset VM --grid 16 --device cpu --fixed "$out/fixed.mhd" --moving "$out/moving.mhd" \
  --initial-transform "$out/fixed.mhd" --output "$out/r3.png" 2>&1)
code=$?
set -e
[ $code -eq 1 ] && echo "$message" | grep -q "is not a 3D displacement field" || { echo "FAIL: render scalar initial transform: $message"; exit 1; }
[ ! -e "$out/r3.png" ] || { echo "FAIL: render left output behind"; exit 1; }

# synthesize: two test subjects with labels, their known fields and a manifest; a subject's
# fields to and from the atlas undo each other (its true field against itself is near zero).
"$shmoareg" synthesize --test 2 --seed 99 --known-fields --output "$out/synthetic"
for f in manifest.json test0_image.nii.gz test0_labels.nii.gz test1_image.nii.gz test1_labels.nii.gz \
         test0_to_atlas.nii.gz test0_from_atlas.nii.gz; do
  [ -s "$out/synthetic/$f" ] || { echo "FAIL: synthesize did not write $f"; exit 1; }
done
s="$out/synthetic"
row=$("$shmoareg" score --fixed-labels "$s/test0_labels.nii.gz" --moving-labels "$s/test0_labels.nii.gz" \
  --fixed-to-atlas "$s/test0_to_atlas.nii.gz" --moving-from-atlas "$s/test0_from_atlas.nii.gz")
echo "$row" | awk -F, '{ exit !($7 != "" && $7 < 0.1) }' || { echo "FAIL: a subject's fields do not undo each other: $row"; exit 1; }
row=$("$shmoareg" score --fixed-labels "$s/test0_labels.nii.gz" --moving-labels "$s/test1_labels.nii.gz" \
  --fixed-to-atlas "$s/test0_to_atlas.nii.gz" --moving-from-atlas "$s/test1_from_atlas.nii.gz")
echo "$row" | awk -F, '{ exit !($7 > 1) }' || { echo "FAIL: two subjects' identity EPE: $row"; exit 1; }

# register's metrics summary (an untrained network: the numbers exist and are in range).
"$shmoareg" register --preset VM --grid 16 --device cpu --fixed "$s/test0_image.nii.gz" --moving "$s/test1_image.nii.gz" \
  --fixed-labels "$s/test0_labels.nii.gz" --moving-labels "$s/test1_labels.nii.gz" \
  --output-field "$out/field.nii.gz" --output-warped "$out/warped.nii.gz" --output-metrics "$out/metrics.json"
python3 - "$out/metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for key in ("dice_before", "dice", "assd_mm_before", "assd_mm", "folding_percent", "seconds"):
    assert key in m, key
assert 0 < m["dice_before"] < 1 and 0 < m["dice"] <= 1 and m["assd_mm"] > 0 and m["seconds"] > 0, m
PY
# ANTs' names under --output-prefix, with the inverse field on the moving grid.
"$shmoareg" register --preset VM --grid 16 --device cpu --fixed "$s/test0_image.nii.gz" --moving "$s/test1_image.nii.gz" \
  --fixed-labels "$s/test0_labels.nii.gz" --moving-labels "$s/test1_labels.nii.gz" --output-prefix "$out/ants_" \
  > "$out/ants.log" 2>&1 # the inversion's progress line: stderr
for f in 1Warp.nii.gz 1InverseWarp.nii.gz Warped.nii.gz WarpedLabels.nii.gz Metrics.json; do
  [ -s "$out/ants_$f" ] || { echo "FAIL: --output-prefix did not write ants_$f"; exit 1; }
done
grep -q "residual" "$out/ants.log" || { echo "FAIL: no inverse residual reported"; cat "$out/ants.log"; exit 1; }
set +e
message=$("$shmoareg" register --preset VM --fixed "$s/test0_image.nii.gz" --moving "$s/test1_image.nii.gz" 2>&1)
code=$?
set -e
[ $code -eq 2 ] && echo "$message" | grep -q "output-prefix" || { echo "FAIL: no outputs named: $code $message"; exit 1; }
set +e
message=$("$shmoareg" register --preset VM --fixed "$s/test0_image.nii.gz" --moving "$s/test1_image.nii.gz" \
  --output-field "$out/f2.nii.gz" --output-warped "$out/w2.nii.gz" --output-metrics "$out/m2.json" 2>&1)
code=$?
set -e
[ $code -eq 2 ] && echo "$message" | grep -q "output-metrics" || { echo "FAIL: metrics without labels: $code $message"; exit 1; }
[ ! -e "$out/f2.nii.gz" ] && [ ! -e "$out/m2.json" ] || { echo "FAIL: outputs left behind"; exit 1; }
echo "score test passed"
