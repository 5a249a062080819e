#!/usr/bin/env bash
# Issue 16's cohort measurement: N moving subjects registered to one fixed subject (a cohort to
# its atlas) in one run:
#   separate  N `shmoareg register` processes (a model load each), writing the field,
#   pairs     one `shmoareg register --pairs --pair-outputs field` process (one model load),
#   pairs+    the same with --pair-outputs' default (field, warped image and labels, Dice/ASSD),
#   elastix   elastix (affine + B-spline, bench/elastix/) per pair (its field and warped image),
# with wall and CPU seconds (user + system) per pair. Subjects: the synthetic generator (seed 7,
# isotropic), not the test pairs.
#
#   bench/batch_registration.sh BUILD_DIR OUT_DIR [N] [REFINEMENT]     (default 20 pairs, none)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: batch_registration.sh BUILD_DIR OUT_DIR [N] [REFINEMENT]}
out=${2:?usage: batch_registration.sh BUILD_DIR OUT_DIR [N] [REFINEMENT]}
n=${3:-20}
refinement=${4:-none}
threads=${THREADS:-2}
shmoareg=$build/src/cli/shmoareg
mkdir -p "$out"
data=$out/data
[ -f "$data/manifest.json" ] || "$shmoareg" synthesize --output "$data" --test $((n + 1)) --seed 7 > /dev/null
echo "fixed,moving,fixed_labels,moving_labels,prefix" > "$out/pairs.csv"
for i in $(seq 1 "$n"); do
  echo "$data/test0_image.nii.gz,$data/test${i}_image.nii.gz,$data/test0_labels.nii.gz,$data/test${i}_labels.nii.gz,p$i" >> "$out/pairs.csv"
done
timed() { # timed LOG COMMAND...: appends "wall cpu" seconds
  /usr/bin/time -f "%e %U %S" -o "$out/time.tmp" "${@:2}" > "$1" 2>&1
  awk '{ printf "%s %.2f\n", $1, $2 + $3 }' "$out/time.tmp"
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), threads=$threads, $n pairs, refinement $refinement"
rm -rf "$out/separate" "$out/pairs" "$out/elastix"
mkdir -p "$out/separate" "$out/elastix"
separate_wall=0 separate_cpu=0
for i in $(seq 1 "$n"); do
  read -r w c < <(timed "$out/separate/p$i.log" "$shmoareg" register --fixed "$data/test0_image.nii.gz" \
    --moving "$data/test${i}_image.nii.gz" --output-field "$out/separate/p$i.nii.gz" \
    --refinement "$refinement" --threads "$threads")
  separate_wall=$(awk -v a="$separate_wall" -v b="$w" 'BEGIN { print a + b }')
  separate_cpu=$(awk -v a="$separate_cpu" -v b="$c" 'BEGIN { print a + b }')
done
read -r pairs_wall pairs_cpu < <(timed "$out/pairs.log" "$shmoareg" register --pairs "$out/pairs.csv" \
  --output-dir "$out/pairs" --pair-outputs field --refinement "$refinement" --threads "$threads")
rm -rf "$out/pairs-default"
read -r more_wall more_cpu < <(timed "$out/pairs-default.log" "$shmoareg" register --pairs "$out/pairs.csv" \
  --output-dir "$out/pairs-default" --refinement "$refinement" --threads "$threads")
elastix_wall=0 elastix_cpu=0
for i in $(seq 1 "$n"); do
  mkdir -p "$out/elastix/p$i"
  read -r w c < <(timed "$out/elastix/p$i.log" elastix -f "$data/test0_image.nii.gz" -m "$data/test${i}_image.nii.gz" \
    -p "$here/bench/elastix/affine.txt" -p "$here/bench/elastix/bspline.txt" -out "$out/elastix/p$i" -threads "$threads")
  elastix_wall=$(awk -v a="$elastix_wall" -v b="$w" 'BEGIN { print a + b }')
  elastix_cpu=$(awk -v a="$elastix_cpu" -v b="$c" 'BEGIN { print a + b }')
done
dice=$(python3 -c "import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); print('%.3f' % (sum(float(x['dice']) for x in r)/len(r)))" "$out/pairs-default/summary.csv")
echo
echo "| how | wall s / pair | CPU s / pair | CPU / elastix's |"
echo "|---|---:|---:|---:|"
per() { awk -v t="$1" -v n="$n" 'BEGIN { printf "%.2f", t / n }'; }
ratio() { awk -v a="$1" -v b="$elastix_cpu" 'BEGIN { printf "1/%.1f", b / a }'; }
echo "| $n separate \`register --output-field\` processes | $(per "$separate_wall") | $(per "$separate_cpu") | $(ratio "$separate_cpu") |"
echo "| one \`register --pairs --pair-outputs field\` process | $(per "$pairs_wall") | $(per "$pairs_cpu") | $(ratio "$pairs_cpu") |"
echo "| one \`register --pairs\` process, default outputs (+ warped image and labels, Dice, ASSD) | $(per "$more_wall") | $(per "$more_cpu") | $(ratio "$more_cpu") |"
echo "| elastix (affine + B-spline) | $(per "$elastix_wall") | $(per "$elastix_cpu") | 1 |"
echo
echo "mean Dice of the --pairs run with labels: $dice"
