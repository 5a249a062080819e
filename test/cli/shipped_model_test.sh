#!/usr/bin/env bash
# The shipped models (models/) on a pair that training never saw (synthetic Colin27 subjects of
# seed 2027; the models were trained on seed 1's train split): each registers the pair better
# than the identity, within the folding targets of docs/results.md, and the default refinement
# (--refinement fast) improves on the network alone. `register` without --model uses
# models/SHMoAReg.pt.
set -euo pipefail
shmoareg=$1
models=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$shmoareg" synthesize --seed 2027 --test 2 --output "$out/pair" > /dev/null
p="$out/pair"
metric() { python3 -c "import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
register() { # NAME [OPTIONS...]
  local name=$1
  shift
  "$shmoareg" register --device cpu --fixed "$p/test0_image.nii.gz" --moving "$p/test1_image.nii.gz" \
    --fixed-labels "$p/test0_labels.nii.gz" --moving-labels "$p/test1_labels.nii.gz" \
    --output-field "$out/$name-field.nii.gz" --output-warped "$out/$name-warped.nii.gz" \
    --output-metrics "$out/$name.json" "$@"
}
check() { # NAME EXPRESSION MESSAGE
  python3 - "$out/$1.json" "$2" <<'PY' || { echo "FAIL: $1: $3 ($(cat "$out/$1.json"))"; exit 1; }
import json, sys
m = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2], {}, m) else 1)
PY
}
register default --refinement none
check default "dice > dice_before + 0.05 and assd_mm < assd_mm_before" "no better than the identity"
check default "folding_percent < 0.5" "folds 0.5 % or more"
# The network sees the box it was trained on (144 x 180 x 144 mm, 3 mm voxels), not the whole
# image, and registers better there than over the whole image (--network-fov image).
check default "network_field_of_view_mm == [144, 180, 144] and network_grid == [48, 60, 48]" \
  "the network grid is not the model's training field of view"
register whole --refinement none --network-fov image
check whole "network_grid == [61, 73, 61]" "--network-fov image does not cover the whole image"
dice_whole=$(metric "$out/whole.json" dice)
python3 -c "import sys; sys.exit(0 if $(metric "$out/default.json" dice) > $dice_whole + 0.05 else 1)" ||
  { echo "FAIL: the training field of view is not better than the whole image ($dice_whole)"; exit 1; }
register diff --model "$models/SHMoAReg_diff.pt" --refinement none
check diff "dice > dice_before + 0.05" "the diffeomorphic model is no better than the identity"
check diff "folding_percent < 0.05" "the diffeomorphic model folds 0.05 % or more"
register refined
check refined "refinement == 'fast' and len(refinement_levels) == 2" "the default refinement is not fast's two levels"
check refined "folding_percent < 0.05" "the refined field folds 0.05 % or more"
# A progress line per refinement level as it ends (stderr), before the summary line (stdout).
printed=$(register live --io-levels 8:3,4:2 2>&1)
echo "$printed" | awk '/^refinement level 1\/2: /{a=NR} /^refinement level 2\/2: /{b=NR} /^registered with /{c=NR}
  END {exit !(a && b && c && a < b && b < c)}' || { echo "FAIL: no live line per refinement level: $printed"; exit 1; }
# A schedule of the user's own (--io-levels): the levels and budgets run as given.
register custom --io-levels 8:12,4:6 --io-smoothing-passes 3
check custom "[l['iterations'] for l in refinement_levels] == [12, 6]" "--io-levels 8:12,4:6 did not run as given"
check custom "refinement_levels[0]['spacing_mm'][0] > 1.9 * refinement_levels[1]['spacing_mm'][0]" \
  "the levels' voxels are not 8 and 4 times the image's"
python3 - "$out/default.json" "$out/refined.json" <<'PY' || { echo "FAIL: the refinement did not improve Dice"; exit 1; }
import json, sys
network, refined = (json.load(open(f)) for f in sys.argv[1:])
sys.exit(0 if refined["dice"] > network["dice"] else 1)
PY
echo "shipped model test passed: Dice $(metric "$out/default.json" dice_before) -> $(metric "$out/default.json" dice)" \
     "(diff $(metric "$out/diff.json" dice), refined $(metric "$out/refined.json" dice))"
