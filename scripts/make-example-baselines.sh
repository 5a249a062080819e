#!/usr/bin/env bash
# The examples' test data: small inputs (test/data/Input) and the outputs the examples must
# reproduce (test/data/Baseline), which their ctest tests compare through ITK's test driver
# (--compare, as ITK's own tests do; examples/CMakeLists.txt).
#
#   scripts/make-example-baselines.sh BUILD_DIR            the baselines from BUILD_DIR's examples
#   scripts/make-example-baselines.sh BUILD_DIR --inputs   first the inputs again, then the baselines
#
# The inputs are two subjects of the built-in synthetic Colin27 dataset (`shmoareg synthesize`,
# test split, seed 1) on a 6 mm grid: 30 x 36 x 30 voxels, so that a displacement field
# baseline is about 240 kB, not the 85 MB of a 1 mm one. They are committed rather than made at
# test time, so a later change to the synthetic dataset does not move the baselines.
#
# New inputs also change the label measures that examples/CMakeLists.txt expects (mean Dice
# before and after, ASSD): the last check of this script names them.
#
# Make new baselines only for an intended change of the examples' results, and say why in the
# commit: a baseline that follows every output tests nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: scripts/make-example-baselines.sh BUILD_DIR [--inputs]}
build=$(cd "$build" && pwd)
input=$here/test/data/Input
baseline=$here/test/data/Baseline
mkdir -p "$input" "$baseline"

if [[ ${2:-} == --inputs ]]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo '{"synthetic": {"spacing": 6.0, "seed": 1}}' > "$work/config.json"
  "$build/src/cli/shmoareg" synthesize --config "$work/config.json" --train 0 --val 0 --test 2 \
    --output "$work/subjects" --quiet
  cp "$work/subjects/test0_image.nii.gz" "$input/ExampleFixed.nii.gz"
  cp "$work/subjects/test0_labels.nii.gz" "$input/ExampleFixedLabels.nii.gz"
  cp "$work/subjects/test1_image.nii.gz" "$input/ExampleMoving.nii.gz"
  cp "$work/subjects/test1_labels.nii.gz" "$input/ExampleMovingLabels.nii.gz"
fi

# The example tests write their outputs to BUILD_DIR/examples/Output. Their comparisons fail
# while the baselines are old, and a test that needs another's output (the Jacobian example
# reads the registration example's field) runs only once that one passes: two rounds, then a
# last run that must pass.
outputs=(ExampleField ExampleWarped ExampleWarpedLabels ExampleJacobianDeterminant ExampleExperts_experts_i
  ExampleExperts_experts_j ExampleExperts_experts_k)
rm -rf "$build/examples/Output"
mkdir -p "$build/examples/Output"
for round in 1 2; do
  (cd "$build" && ctest -L examples > /dev/null 2>&1) || true
  for name in "${outputs[@]}"; do
    if [[ -f $build/examples/Output/$name.nii.gz ]]; then
      cp "$build/examples/Output/$name.nii.gz" "$baseline/$name.nii.gz"
    fi
  done
done
for name in "${outputs[@]}"; do
  [[ -f $build/examples/Output/$name.nii.gz ]] || {
    echo "no $name.nii.gz: an example failed (ctest -L examples --output-on-failure in $build)" >&2
    exit 1
  }
done
(cd "$build" && ctest -L examples --output-on-failure) || {
  echo "the examples' tests fail with the new baselines; with new inputs, the label measures" \
    "(mean Dice, ASSD) in examples/CMakeLists.txt need their new values" >&2
  exit 1
}
ls -l "$input" "$baseline"
