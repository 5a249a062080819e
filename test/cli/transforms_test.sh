#!/usr/bin/env bash
# Transform files in and out of register, checked on a known affine: the moving image is a
# synthetic brain resampled through an affine A (a .txt ITK transform file), so --affine must find
# T = A^-1 (P0GenericAffine.mat). Then the composite .h5 transforms, ANTs' pieces and the full
# field move points the same way; the inverse composite undoes the forward one; an affine .mat as
# --initial-transform gives what --affine gave; wrong transform files are refused by name.
set -euo pipefail
shmoareg=$1
model=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$shmoareg" synthesize --seed 98 --test 1 --output "$out/pair" > /dev/null
fixed=$out/pair/test0_image.nii.gz
cat > "$out/A.txt" <<'TXT'
#Insight Transform File V1.0
#Transform 0
Transform: AffineTransform_double_3_3
Parameters: 1.04 0.05 0 -0.05 1.04 0 0 0 0.97 4 -3 2
FixedParameters: 0 -18 18
TXT
"$shmoareg" warp --input "$fixed" --reference "$fixed" --transform "$out/A.txt" --output "$out/moving.nii.gz" > /dev/null
cat > "$out/points.csv" <<'CSV'
x,y,z
0,-18,18
20,-40,10
-30,0,30
10,30,-10
-15,-60,5
CSV
"$shmoareg" register --model "$model" --device cpu --fixed "$fixed" --moving "$out/moving.nii.gz" --affine \
  --output-prefix "$out/reg/P" --output-field "$out/reg/total.nii.gz" > "$out/register.log"
for f in P0GenericAffine.mat P1Warp.nii.gz P1InverseWarp.nii.gz PComposite.h5 PInverseComposite.h5 PWarped.nii.gz; do
  [ -f "$out/reg/$f" ] || { echo "FAIL: register --affine --output-prefix did not write $f"; exit 1; }
done

map() { # NAME TRANSFORMS: maps points.csv through the stack (antsApplyTransforms' order)
  "$shmoareg" warp --transform "$2" --points "$out/points.csv" --output-points "$out/$1.csv" > /dev/null
}
worst() { # A B: largest coordinate difference between two point files
  python3 - "$out/$1.csv" "$out/$2.csv" <<'PY'
import sys
rows = [[list(map(float, l.split(",")[:3])) for l in open(p).read().split("\n")[1:] if l] for p in sys.argv[1:]]
print(max(abs(a - b) for p, q in zip(*rows) for a, b in zip(p, q)))
PY
}
check() { # WHAT A B TOLERANCE
  local d
  d=$(worst "$2" "$3")
  echo "$1: $d mm"
  python3 -c "import sys; sys.exit(0 if $d <= $4 else 1)" || { echo "FAIL: $1 ($d mm > $4 mm)"; exit 1; }
}
cp "$out/points.csv" "$out/identity.csv"

# 1. The affine found: T then A is the identity (T = A^-1), on points across the brain.
map affine-then-A "$out/reg/P0GenericAffine.mat,$out/A.txt"
check "--affine recovers A^-1" affine-then-A identity 0.5

# 2. Forward, fixed -> moving: the composite .h5 (read by itk::TransformFileReader), ANTs' pieces
#    (-t P1Warp -t P0GenericAffine) and the full field agree.
map composite "$out/reg/PComposite.h5"
map pieces "$out/reg/P1Warp.nii.gz,$out/reg/P0GenericAffine.mat"
map total "$out/reg/total.nii.gz"
check "composite vs ANTs pieces" composite pieces 1e-3
check "composite vs full field" composite total 1e-3

# 3. Inverse, moving -> fixed: composite and ANTs' pieces (-t [P0GenericAffine,1] -t P1InverseWarp)
#    agree, and undo the forward mapping.
map inverse-composite "$out/reg/PInverseComposite.h5"
map inverse-pieces "[$out/reg/P0GenericAffine.mat,1],$out/reg/P1InverseWarp.nii.gz"
check "inverse composite vs ANTs pieces" inverse-composite inverse-pieces 1e-3
map round-trip "$out/reg/PComposite.h5,$out/reg/PInverseComposite.h5"
check "inverse after forward" round-trip identity 0.5

# 4. The affine file as --initial-transform gives the same registration as --affine.
"$shmoareg" register --model "$model" --device cpu --fixed "$fixed" --moving "$out/moving.nii.gz" \
  --initial-transform "$out/reg/P0GenericAffine.mat" --output-prefix "$out/init/P" > /dev/null
map init-composite "$out/init/PComposite.h5"
check "--initial-transform .mat vs --affine" init-composite composite 1e-3

# 5. The diffeomorphic model's inverse is exact (its negated velocities integrated), also behind
#    an affine: the inverse field undoes the forward one (to 0.47 mm here at 3 mm network voxels:
#    scaling and squaring's discretisation; the fixed-point inverse's residual is smaller, docs).
"$shmoareg" register --model "$(dirname "$model")/SHMoAReg_diff.pt" --device cpu --fixed "$fixed" \
  --moving "$out/moving.nii.gz" --affine --refinement none --output-prefix "$out/diff/P" --output-field "$out/diff/total.nii.gz" \
  --output-inverse-field "$out/diff/total-inverse.nii.gz" > "$out/diff.log" 2>&1 # progress lines: stderr
grep -q "exact: the diffeomorphic model's negated velocities" "$out/diff.log" ||
  { echo "FAIL: the diffeomorphic model's inverse was not the exact one"; cat "$out/diff.log"; exit 1; }
map diff-round-trip "$out/diff/total.nii.gz,$out/diff/total-inverse.nii.gz"
check "diffeomorphic: exact inverse after forward" diff-round-trip identity 1.0

# 6. Wrong transform files are refused by name, exit 1, nothing written.
cat > "$out/A2.txt" <<'TXT'
#Insight Transform File V1.0
#Transform 0
Transform: AffineTransform_double_2_2
Parameters: 1 0 0 1 0 0
FixedParameters: 0 0
TXT
echo "not a transform" > "$out/garbage.txt"
refused() { # CODE PATTERN ARGS...: the command fails with CODE and a message matching PATTERN
  local code=$1 pattern=$2
  shift 2
  set +e
  message=$("$shmoareg" "$@" 2>&1)
  local got=$?
  set -e
  [ $got -eq "$code" ] && echo "$message" | grep -q -- "$pattern" || { echo "FAIL: $* -> $got: $message"; exit 1; }
}
common=(register --model "$model" --device cpu --fixed "$fixed" --moving "$out/moving.nii.gz" --output-prefix "$out/bad/P")
refused 1 "A2.txt.*3D transform" "${common[@]}" --initial-transform "$out/A2.txt"
refused 1 "garbage.txt" "${common[@]}" --initial-transform "$out/garbage.txt"
refused 1 "missing.mat" "${common[@]}" --initial-transform "$out/missing.mat"
refused 2 "not both" "${common[@]}" --affine --initial-transform "$out/A.txt"
refused 1 "A2.txt.*3D transform" warp --transform "$out/A2.txt" --points "$out/points.csv" --output-points "$out/bad.csv"
[ ! -e "$out/bad" ] || [ -z "$(ls -A "$out/bad")" ] || { echo "FAIL: a refused run left files: $(ls "$out/bad")"; exit 1; }
[ ! -e "$out/bad.csv" ] || { echo "FAIL: a refused warp left bad.csv"; exit 1; }
echo "transform files: all checks passed"
