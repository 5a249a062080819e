#!/usr/bin/env bash
# The bad-input catalogue (docs/reliability.md): each input a user may give by mistake that ITK
# reads without a word must end in a one-line error that names the file and the problem (exit 1),
# or a usage error (exit 2), before any work; never a LibTorch trace, never a partial output,
# never an input overwritten. A few are accepted on purpose, each with what the user is told.
set -euo pipefail
shmoareg=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$out"
mkdir results
/usr/bin/python3 - <<'PY'
import array, gzip, math, struct, zlib

N = 24
def blob(values=None):
    if values is not None:
        return values
    return [100.0 * math.exp(-((i % N - 12) ** 2 + ((i // N) % N - 12) ** 2 + (i // (N * N) - 12) ** 2) / 30.0)
            for i in range(N ** 3)]

def mhd(name, dims, spacing=(2, 2, 2), origin=(0, 0, 0), values=None):
    values = blob(values) if values is not None or tuple(dims) == (N, N, N) else values
    if values is None:
        count = 1
        for d in dims:
            count *= d
        values = [float(i % 17) for i in range(count)]
    array.array("f", values).tofile(open(name + ".raw", "wb"))
    open(name + ".mhd", "w").write(
        "ObjectType = Image\nNDims = %d\nDimSize = %s\nElementSpacing = %s\nOffset = %s\n"
        "ElementType = MET_FLOAT\nElementDataFile = %s.raw\n"
        % (len(dims), " ".join(map(str, dims)), " ".join(map(str, spacing)), " ".join(map(str, origin)), name))

def nifti(values):
    header = bytearray(348)
    struct.pack_into("<i", header, 0, 348)
    struct.pack_into("<8h", header, 40, 3, N, N, N, 1, 1, 1, 1)
    struct.pack_into("<2h", header, 70, 16, 32)            # float32
    struct.pack_into("<8f", header, 76, 1, 2, 2, 2, 1, 1, 1, 1)
    struct.pack_into("<2f", header, 108, 352.0, 1.0)       # vox_offset, scl_slope
    header[344:348] = b"n+1\0"
    return bytes(header) + b"\0" * 4 + array.array("f", values).tobytes()

def nrrd(values, encoding="raw"):
    data = array.array("f", values).tobytes()
    head = ("NRRD0004\ntype: float\ndimension: 3\nsizes: %d %d %d\nspacings: 2 2 2\nencoding: %s\n"
            "endian: little\n\n" % (N, N, N, encoding)).encode()
    return head + (gzip.compress(data) if encoding == "gzip" else data)

def mha(values, compressed=False):
    data = array.array("f", values).tobytes()
    if compressed:
        data = zlib.compress(data)
    head = "ObjectType = Image\nNDims = 3\nDimSize = %d %d %d\nElementSpacing = 2 2 2\nElementType = MET_FLOAT\n" % (N, N, N)
    if compressed:
        head += "CompressedData = True\nCompressedDataSize = %d\n" % len(data)
    return (head + "ElementDataFile = LOCAL\n").encode() + data

image = blob()
mhd("image", (N, N, N))
labels = [float(1 + (i % N) // 8) for i in range(N ** 3)]
mhd("labels", (N, N, N), values=labels)
mhd("labels-far", (N, N, N), origin=(1000, 0, 0), values=labels)
mhd("labels-coarse", (12, 12, 12), spacing=(4, 4, 4), values=[float(1 + (i % 12) // 4) for i in range(12 ** 3)])
with_nan = list(image); with_nan[100] = float("nan")
with_inf = list(image); with_inf[100] = float("inf")
mhd("nan", (N, N, N), values=with_nan)
open("nan.nii", "wb").write(nifti(with_nan))
open("nan.nii.gz", "wb").write(gzip.compress(nifti(with_nan)))
open("nan.nrrd", "wb").write(nrrd(with_nan))
open("inf.mha", "wb").write(mha(with_inf))
mhd("zero-spacing", (N, N, N), spacing=(2, 0, 2), values=image)
mhd("negative-spacing", (N, N, N), spacing=(2, -2, 2), values=image)
mhd("flat", (48, 56))
mhd("one-slice", (48, 56, 1))
mhd("four-d", (N, N, N, 2), spacing=(2, 2, 2, 1), origin=(0, 0, 0, 0))
mhd("constant", (N, N, N), values=[5.0] * N ** 3)
for name, data in (("nii", nifti(image)), ("nii.gz", gzip.compress(nifti(image))), ("nrrd", nrrd(image)),
                   ("mha", mha(image)), ("z.mha", mha(image, True))):
    suffix = name if name != "z.mha" else "mha"
    open("truncated-" + name.replace(".", "-") + "." + suffix, "wb").write(data[: len(data) * 2 // 3])
    open("whole-" + name.replace(".", "-") + "." + suffix, "wb").write(data)
open("unknown-type.txt", "w").write("#Insight Transform File V1.0\n#Transform 0\n"
                                    "Transform: FooTransform_double_3_3\nParameters: 1 0 0\nFixedParameters: 0 0 0\n")
open("unparsable-type.txt", "w").write("#Insight Transform File V1.0\n#Transform 0\n"
                                       "Transform: Foo\nParameters: 1 0 0\nFixedParameters: 0 0 0\n")
PY
sed 's/ElementDataFile = image.raw/ElementDataFile = gone.raw/' image.mhd > missing-data.mhd
printf 'ObjectType = Image\nNDims = 3\nDimSize = 24 24 24\nElementSpacing = 2 2 2\nElementNumberOfChannels = 3\nElementType = MET_FLOAT\nElementDataFile = image.raw\n' > vector.mhd
ln -s image.mhd link-to-image.mhd
before=$(md5sum ./*.mhd ./*.raw | md5sum)

register=("$shmoareg" register --preset VM --grid 16 --device cpu --refinement none)
# expect CODE PATTERN ARGS...: the exit code, a pattern of the message, no trace, nothing written.
expect() {
  local code=$1 pattern=$2
  shift 2
  set +e
  message=$("${register[@]}" "$@" 2>&1)
  got=$?
  set -e
  [ "$got" -eq "$code" ] || { echo "FAIL: exit $got (not $code) for: $*"; echo "$message"; exit 1; }
  echo "$message" | grep -q -- "$pattern" || { echo "FAIL: '$pattern' not in the message for: $*"; echo "$message"; exit 1; }
  if echo "$message" | grep -q "frame #\|Exception raised from"; then
    echo "FAIL: a library trace for: $*"; echo "$message"; exit 1
  fi
  if [ "$code" -ne 0 ]; then
    echo "$message" | grep -q "^registered with" && { echo "FAIL: the work ran before the refusal: $*"; exit 1; }
    [ -z "$(ls -A results)" ] || { echo "FAIL: files left behind for: $*: $(ls results)"; exit 1; }
  fi
  echo "ok: $pattern"
}
both=(--output-field results/field.nii.gz --output-warped results/warped.nii.gz)

# Label maps off their image's grid, and the difference named.
expect 1 "fixed label map 'labels-far.mhd' does not lie on the fixed image's grid.*origin \[0, 0, 0\] vs \[1000, 0, 0\]\|origin \[1000, 0, 0\] vs \[0, 0, 0\]" \
  --fixed image.mhd --moving image.mhd --fixed-labels labels-far.mhd --moving-labels labels.mhd "${both[@]}"
expect 1 "moving label map 'labels-coarse.mhd' does not lie on the moving image's grid.*size" \
  --fixed image.mhd --moving image.mhd --fixed-labels labels.mhd --moving-labels labels-coarse.mhd "${both[@]}"
# Non-finite voxels, in each format ITK reads them from as they are (MetaImage, NIfTI, NRRD).
for f in nan.mhd nan.nii nan.nii.gz nan.nrrd; do
  expect 1 "moving image '$f' has 1 NaN or infinite voxel (of 13824).*--replace-non-finite" \
    --fixed image.mhd --moving $f "${both[@]}"
done
expect 1 "fixed image 'inf.mha' has 1 NaN or infinite voxel" --fixed inf.mha --moving image.mhd "${both[@]}"
# ... replaced on request, and said so in the log and metrics.json.
expect 0 "replaced 1 NaN or infinite voxel of the moving image 'nan.nii.gz' by 0" --replace-non-finite 0 \
  --fixed image.mhd --moving nan.nii.gz --fixed-labels labels.mhd --moving-labels labels.mhd \
  --output-field results/field.nii.gz --output-metrics results/metrics.json
/usr/bin/python3 -c "
import json, sys
m = json.load(open('results/metrics.json'))
assert m['non_finite_voxels_replaced'] == {'fixed': 0, 'moving': 1}, m
" || { echo "FAIL: metrics.json does not count the replaced voxels"; exit 1; }
[ "$(ls results)" = "$(printf 'field.nii.gz\nmetrics.json')" ] || { echo "FAIL: more written than asked: $(ls results)"; exit 1; }
rm -f results/*
# Voxel sizes that are not positive.
expect 1 "moving image 'zero-spacing.mhd' has the voxel size 2 x 0 x 2 mm" --fixed image.mhd --moving zero-spacing.mhd "${both[@]}"
expect 1 "fixed image 'negative-spacing.mhd' has the voxel size 2 x -2 x 2 mm" --fixed negative-spacing.mhd --moving image.mhd "${both[@]}"
# Incomplete files: ITK fills a short NIfTI or MetaImage with zeros; its NRRD reader refuses.
for f in truncated-nii.nii truncated-nii-gz.nii.gz truncated-mha.mha truncated-z-mha.mha; do
  expect 1 "fixed image '$f' is truncated" --fixed $f --moving image.mhd "${both[@]}"
done
expect 1 "cannot read the fixed image 'truncated-nrrd.nrrd'" --fixed truncated-nrrd.nrrd --moving image.mhd "${both[@]}"
for f in whole-nii.nii whole-nii-gz.nii.gz whole-nrrd.nrrd whole-mha.mha whole-z-mha.mha; do
  expect 0 "wrote results/field.nii.gz" --fixed $f --moving image.mhd --output-field results/field.nii.gz
  rm -f results/*
done
expect 1 "fixed image 'missing-data.mhd' names the data file '.*gone.raw', which does not exist" --fixed missing-data.mhd --moving image.mhd "${both[@]}"
expect 1 "moving image 'vector.mhd' has 3 values per voxel .*: a scalar image is needed" --fixed image.mhd --moving vector.mhd "${both[@]}"
# Not one 3-D volume.
expect 1 "fixed image 'flat.mhd' is 2-D (48 x 56 voxels): SHMoAReg registers 3-D images" --fixed flat.mhd --moving image.mhd "${both[@]}"
expect 1 "moving image 'one-slice.mhd' is 2-D (48 x 56 x 1 voxels)" --fixed image.mhd --moving one-slice.mhd "${both[@]}"
expect 1 "fixed image 'four-d.mhd' is 4-D (24 x 24 x 24 x 2 voxels: 2 volumes)" --fixed four-d.mhd --moving image.mhd "${both[@]}"
# Outputs: never an input (by name, through a link, or a .mhd's data file), writable, one file each.
expect 1 "output-warped 'image.mhd' would overwrite the input 'image.mhd'" --fixed image.mhd --moving image.mhd --output-warped image.mhd
expect 1 "output-warped 'link-to-image.mhd' would overwrite the input" --fixed image.mhd --moving image.mhd --output-warped link-to-image.mhd
expect 1 "output-field './labels.mhd' would overwrite the input 'labels.mhd'" --fixed image.mhd --moving image.mhd \
  --fixed-labels labels.mhd --moving-labels labels.mhd --output-field ./labels.mhd
expect 1 "output-field 'results/../image.mhd' would overwrite" --fixed image.mhd --moving image.mhd --output-field results/../image.mhd
expect 1 "both name 'results/a.nii.gz'" --fixed image.mhd --moving image.mhd --output-field results/a.nii.gz --output-warped results/a.nii.gz
expect 1 "output-field 'image.raw/field.nii.gz' cannot be written: '.*image.raw' is not a folder" \
  --fixed image.mhd --moving image.mhd --output-field image.raw/field.nii.gz
expect 1 "output-warped 'results' is a folder" --fixed image.mhd --moving image.mhd --output-warped results
[ "$(md5sum ./*.mhd ./*.raw | md5sum)" = "$before" ] || { echo "FAIL: an input was changed"; exit 1; }
# An output field alone is enough; a MetaImage output keeps its data file under its own name.
expect 0 "wrote results/field.mhd" --fixed image.mhd --moving image.mhd --output-field results/field.mhd
grep -qx "ElementDataFile = field.zraw" results/field.mhd || { echo "FAIL: $(grep ElementDataFile results/field.mhd)"; exit 1; }
[ "$(ls results)" = "$(printf 'field.mhd\nfield.zraw')" ] || { echo "FAIL: written: $(ls results)"; exit 1; }
"$shmoareg" score --fixed-labels labels.mhd --moving-labels labels.mhd --field results/field.mhd >/dev/null ||
  { echo "FAIL: the written .mhd field does not read back"; exit 1; }
rm -f results/*
# Transform files of a type ITK does not know: the file and the type named, not ITK's list.
expect 1 "initial transform 'unknown-type.txt' holds the transform type 'FooTransform_double_3_3'" \
  --fixed image.mhd --moving image.mhd --initial-transform unknown-type.txt "${both[@]}"
echo "$message" | grep -q "Currently registered" && { echo "FAIL: ITK's list of transforms reached the user"; exit 1; }
expect 1 "initial transform 'unparsable-type.txt' is not a transform file ITK reads: the transform type 'Foo' is unknown" \
  --fixed image.mhd --moving image.mhd --initial-transform unparsable-type.txt "${both[@]}"
# Text transforms that ITK 5.2's reader would misread (FuzzTransformFile: a misspelt tag made it
# apply Parameters to a composite with no transforms, undefined behaviour): refused by line.
printf '#Insight Transform File V1.0\n#Transform 0\nTransform: CompositeTransform_double_3_3\n#Transform 1\nTransfo : Euler3DTransform_double_3_3\nParameters: 0.1 0 0 1 2 3\nFixedParameters: 0 0 0 0\n' > misspelt-tag.txt
expect 1 "initial transform 'misspelt-tag.txt' line 5: not a transform file line" \
  --fixed image.mhd --moving image.mhd --initial-transform misspelt-tag.txt "${both[@]}"
printf '#Insight Transform File V1.0\nParameters: 1 2 3\nTransform: TranslationTransform_double_3_3\n' > parameters-first.txt
expect 1 "line 2: Parameters before any Transform line" \
  --fixed image.mhd --moving image.mhd --initial-transform parameters-first.txt "${both[@]}"
# Too few parameters for the type (ITK's Euler3DTransform read past them: FuzzTransformFile).
printf '#Insight Transform File V1.0\nTransform: Euler3DTransform_double_3_3\nParameters: 1 2 3\nFixedParameters: 0 0 0 0\n' > short-euler.txt
expect 1 "line 3: 3 parameters for a Euler3DTransform_double_3_3, which has 6" \
  --fixed image.mhd --moving image.mhd --initial-transform short-euler.txt "${both[@]}"
# A grid too small for the network: the model says so (not LibTorch's pooling check).
expect 1 "smaller than the smallest grid this model accepts, 2^3" --grid 1 --fixed image.mhd --moving image.mhd "${both[@]}"
# A constant image is registered with a warning, which metrics.json keeps.
expect 0 "warning: the fixed image 'constant.mhd' is constant (every voxel 5)" --fixed constant.mhd --moving image.mhd \
  --fixed-labels labels.mhd --moving-labels labels.mhd --output-field results/field.nii.gz --output-metrics results/metrics.json
/usr/bin/python3 -c "
import json
m = json.load(open('results/metrics.json'))
assert len(m['warnings']) == 1 and 'constant' in m['warnings'][0], m
" || { echo "FAIL: metrics.json lacks the warning"; exit 1; }
echo "bad-input catalogue passed"
