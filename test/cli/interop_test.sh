#!/usr/bin/env bash
# The files that register writes are what other tools expect: the displacement field is a vector
# NIfTI as ITK writes it (dims X,Y,Z,1,3, intent vector), read back by itk::DisplacementFieldTransform
# (shmoareg warp) and by elastix's transformix through a DeformationFieldTransform parameter file,
# which move points and labels the same way as the registration filter. Bad transform and point
# files are refused by name and line, leaving no output.
set -euo pipefail
shmoareg=$1
model=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
command -v transformix > /dev/null || { echo "FAIL: transformix (elastix) is not installed"; exit 1; }
"$shmoareg" synthesize --seed 98 --test 2 --output "$out/pair" > /dev/null
p="$out/pair"
# A real, non-trivial field: the shipped model on the pair.
"$shmoareg" register --model "$model" --device cpu --fixed "$p/test0_image.nii.gz" --moving "$p/test1_image.nii.gz" \
  --moving-labels "$p/test1_labels.nii.gz" --output-field "$out/field.nii.gz" --output-warped "$out/warped.nii.gz" \
  --output-warped-labels "$out/filter-labels.nii.gz" > /dev/null

# 1. The NIfTI header: 5 dimensions (X, Y, Z, 1, 3), intent vector (1007), float.
python3 - "$out/field.nii.gz" <<'PY'
import gzip, struct, sys
header = gzip.open(sys.argv[1]).read(348)
dim = struct.unpack("<8h", header[40:56])
intent = struct.unpack("<h", header[68:70])[0]
datatype = struct.unpack("<h", header[70:72])[0]
assert dim[0] == 5 and dim[4] == 1 and dim[5] == 3, dim
assert intent == 1007, intent
assert datatype == 16, datatype  # float32
PY

# 2. Labels through shmoareg warp (itk::DisplacementFieldTransform) = the filter's warped labels.
"$shmoareg" warp --input "$p/test1_labels.nii.gz" --reference "$p/test0_image.nii.gz" --transform "$out/field.nii.gz" \
  --interpolation nearest --output "$out/warp-labels.nii.gz" > /dev/null
same() { # A B MIN_DICE: Dice of two label maps on one grid
  "$shmoareg" score --fixed-labels "$1" --moving-labels "$2" | awk -F, -v min="$3" '{ exit !($3 >= min) }'
}
same "$out/filter-labels.nii.gz" "$out/warp-labels.nii.gz" 1 || { echo "FAIL: warp labels differ from the filter's"; exit 1; }
python3 - "$out/warp-labels.nii.gz" "$p/test1_labels.nii.gz" <<'PY'
import gzip, struct, sys
types = [struct.unpack("<h", gzip.open(f).read(348)[70:72])[0] for f in sys.argv[1:]]
assert types[0] == types[1], types  # the label pixel type is kept
PY

# 3. transformix with the field as a DeformationFieldTransform: labels and points.
"$shmoareg" warp --input "$p/test0_image.nii.gz" --reference "$p/test0_image.nii.gz" --transform "$out/field.nii.gz" \
  --output "$out/geometry.mhd" > /dev/null
geometry() { sed -n "s/^$1 = //p" "$out/geometry.mhd"; }
cat > "$out/transform.txt" <<TXT
(Transform "DeformationFieldTransform")
(DeformationFieldFileName "$out/field.nii.gz")
(DeformationFieldInterpolationOrder 1)
(NumberOfParameters 0)
(InitialTransformParametersFileName "NoInitialTransform")
(HowToCombineTransforms "Compose")
(FixedImageDimension 3)
(MovingImageDimension 3)
(FixedInternalImagePixelType "float")
(MovingInternalImagePixelType "float")
(Size $(geometry DimSize))
(Index 0 0 0)
(Spacing $(geometry ElementSpacing))
(Origin $(geometry Offset))
(Direction $(geometry TransformMatrix))
(UseDirectionCosines "true")
(ResampleInterpolator "FinalBSplineInterpolator")
(FinalBSplineInterpolationOrder 0)
(Resampler "DefaultResampler")
(DefaultPixelValue 0)
(ResultImageFormat "nii.gz")
(ResultImagePixelType "unsigned short")
(CompressResultImage "true")
TXT
mkdir "$out/tfx"
transformix -in "$p/test1_labels.nii.gz" -tp "$out/transform.txt" -out "$out/tfx" > "$out/tfx.log" 2>&1 ||
  { echo "FAIL: transformix failed"; tail -20 "$out/tfx/transformix.log"; exit 1; }
same "$out/warp-labels.nii.gz" "$out/tfx/result.nii.gz" 0.999 ||
  { echo "FAIL: transformix moves the labels differently"; exit 1; }

# Points: physical (LPS) coordinates around the image centre.
# Points: physical (LPS) coordinates around the image centre, origin + D diag(spacing) (size - 1) / 2.
awk -v offset="$(geometry Offset)" -v matrix="$(geometry TransformMatrix)" -v spacing="$(geometry ElementSpacing)" \
    -v size="$(geometry DimSize)" 'BEGIN {
  split(offset, o, " "); split(matrix, m, " "); split(spacing, s, " "); split(size, n, " ")
  for (a = 1; a <= 3; ++a) { c[a] = o[a]; for (b = 1; b <= 3; ++b) c[a] += m[(b - 1) * 3 + a] * s[b] * (n[b] - 1) / 2 }
  print "x,y,z,id"
  for (d = -30; d <= 30; d += 15) printf "%g,%g,%g,p%d\n", c[1] + d, c[2] - d, c[3] + d / 2, d
}' > "$out/points.csv"
"$shmoareg" warp --transform "$out/field.nii.gz" --points "$out/points.csv" --output-points "$out/mapped.csv" > /dev/null
{ echo point; echo 5; tail -n +2 "$out/points.csv" | cut -d, -f1-3 | tr , ' '; } > "$out/points.txt"
transformix -def "$out/points.txt" -tp "$out/transform.txt" -out "$out/tfx" > /dev/null 2>&1
python3 - "$out/mapped.csv" "$out/tfx/outputpoints.txt" <<'PY'
import re, sys
ours = [list(map(float, l.split(",")[:3])) for l in open(sys.argv[1]).read().split("\n")[1:] if l]
theirs = [list(map(float, re.search(r"OutputPoint = \[ ([^\]]*)\]", l).group(1).split())) for l in open(sys.argv[2]) if l.strip()]
assert len(ours) == len(theirs) == 5, (ours, theirs)
worst = max(abs(a - b) for p, q in zip(ours, theirs) for a, b in zip(p, q))
moved = max(abs(a - b) for p, q in zip(ours, [list(map(float, l.split(",")[:3])) for l in open(sys.argv[1].replace("mapped", "points")).read().split("\n")[1:] if l]) for a, b in zip(p, q))
print(f"points: shmoareg warp vs transformix {worst:.2e} mm (points moved up to {moved:.2f} mm)")
assert worst < 1e-3 and moved > 0.1, (worst, moved)
PY
grep -q ",p30$" "$out/mapped.csv" || { echo "FAIL: extra columns not kept"; exit 1; }

# 4. Bad input: a scalar image as a transform, a malformed point row; nothing written.
set +e
message=$("$shmoareg" warp --input "$p/test1_labels.nii.gz" --reference "$p/test0_image.nii.gz" \
  --transform "$p/test0_image.nii.gz" --output "$out/bad.nii.gz" 2>&1)
code=$?
set -e
[ $code -eq 1 ] && echo "$message" | grep -q "not a 3D displacement field" || { echo "FAIL: scalar transform: $message"; exit 1; }
printf 'x,y,z\n1,2,3\n4,five,6\n' > "$out/bad.csv"
set +e
message=$("$shmoareg" warp --transform "$out/field.nii.gz" --points "$out/bad.csv" --output-points "$out/bad-out.csv" 2>&1)
code=$?
set -e
[ $code -eq 1 ] && echo "$message" | grep -q "bad.csv' line 3" || { echo "FAIL: malformed point row: $message"; exit 1; }
[ ! -e "$out/bad.nii.gz" ] && [ ! -e "$out/bad-out.csv" ] || { echo "FAIL: partial output left"; exit 1; }
echo "interop test passed"
