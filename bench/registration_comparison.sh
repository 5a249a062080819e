#!/usr/bin/env bash
# The registration comparison of docs/results.md: identity, elastix (affine + B-spline), ITK's
# SyN and diffeomorphic demons, and the library's presets trained with the same budget
# (scripts/train-models.sh), on fixed test pairs of the synthetic Colin27 dataset (test-split
# seeds: never used in training or validation), isotropic 2 mm and anisotropic 3 x 3 x 2 mm.
# Every method writes a displacement field (fixed -> moving, mm, on the fixed grid), and every
# field is scored by the same command, `shmoareg score` (the module's Dice, ASSD and Jacobian
# filters, labels warped with nearest neighbour).
#
#   bench/registration_comparison.sh BUILD_DIR MODELS_ROOT OUTPUT_DIR [SUBJECTS] [METHODS]
#
# MODELS_ROOT holds PRESET/model.pt (default ~/.cache/shmoareg/training); a method PRESET+ioN
# adds N iterations of instance optimisation (register --io-iterations N). SUBJECTS test
# subjects per mode give SUBJECTS ordered pairs (s+1 -> s, cyclic; default 3). Every method runs
# as its own process with THREADS threads (default 2); wall and CPU (user + sys) seconds are of
# that process, so the networks' include LibTorch's start and the model load; the networks'
# in-process registration time is reported too. Prints Markdown tables; OUTPUT_DIR/scores.csv
# holds every row.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: registration_comparison.sh BUILD_DIR MODELS_ROOT OUTPUT_DIR [SUBJECTS] [METHODS]}
models=${2:-$HOME/.cache/shmoareg/training}
out=${3:?usage: registration_comparison.sh BUILD_DIR MODELS_ROOT OUTPUT_DIR [SUBJECTS] [METHODS]}
subjects=${4:-3}
methods=${5:-"identity elastix SyN demons VM TM 2casVM Pyramid SHMoAReg SHMoAReg_diff"}
threads=${THREADS:-2}
shmoareg="$build/src/cli/shmoareg"
syn="$build/bench/shmoareg_ItkSyNRegistration"
demons="$build/bench/shmoareg_ItkDemonsRegistration"
config="$here/models/training/colin27-synthetic-3mm.json"
for exe in "$shmoareg" "$syn" "$demons"; do
  [ -x "$exe" ] || { echo "registration_comparison.sh: $exe not found (build with benchmarks on)" >&2; exit 1; }
done
command -v elastix > /dev/null || { echo "registration_comparison.sh: elastix not installed" >&2; exit 1; }
mkdir -p "$out"
scores="$out/scores.csv"
echo "mode,method,pair,dice,assd_mm,folding_percent,wall_s,cpu_s,registration_s,params_M" > "$scores"

# Runs a command, leaving "wall cpu" seconds of it (and its children) in $timing.
timed() {
  local TIMEFORMAT="%R %U %S" t
  t=$( { time "$@" > "$log" 2>&1 ; } 2>&1 ) || { echo "failed: $* (log: $log)" >&2; cat "$log" >&2; exit 1; }
  timing=$(echo "$t" | awk '{ printf "%.3f %.3f", $1, $2 + $3 }')
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), threads=$threads"
for mode in isotropic anisotropic; do
  data="$out/data-$mode"
  flag=()
  [ "$mode" = anisotropic ] && flag=(--anisotropic)
  [ -f "$data/manifest.json" ] || "$shmoareg" synthesize --config "$config" --seed 1 --test "$subjects" "${flag[@]}" --output "$data" > /dev/null
  for ((s = 0; s < subjects; ++s)); do
    f=$s; m=$(( (s + 1) % subjects ))
    fixed="$data/test${f}_image.nii.gz"; moving="$data/test${m}_image.nii.gz"
    fixedLabels="$data/test${f}_labels.nii.gz"; movingLabels="$data/test${m}_labels.nii.gz"
    pair="test$m->test$f"
    for method in $methods; do
      work="$out/runs/$mode/$method/pair$s"
      rm -rf "$work" && mkdir -p "$work"
      log="$work/log.txt"
      field="$work/field.nii.gz"
      registration="" params=0
      case "$method" in
        identity)
          field=""; timing="0 0" ;;
        elastix)
          timed elastix -f "$fixed" -m "$moving" -p "$here/bench/elastix/affine.txt" -p "$here/bench/elastix/bspline.txt" \
            -out "$work" -threads "$threads"
          elapsed=$timing
          transformix -def all -tp "$work/TransformParameters.1.txt" -out "$work" > "$work/transformix.txt" 2>&1
          mv "$work/deformationField.nii.gz" "$field"
          timing=$elapsed ;;
        SyN) timed "$syn" "$fixed" "$moving" "$field" "$threads" ;;
        demons) timed "$demons" "$fixed" "$moving" "$field" "$threads" ;;
        *)
          # PRESET or PRESET+ioN: the trained model, then N iterations of instance optimisation.
          preset=${method%%+io*} io=0
          [ "$preset" != "$method" ] && io=${method##*+io}
          model="$models/$preset/model.pt"
          [ -f "$model" ] || { echo "registration_comparison.sh: $model not found (scripts/train-models.sh)" >&2; exit 1; }
          timed "$shmoareg" register --model "$model" --device cpu --threads "$threads" --fixed "$fixed" --moving "$moving" \
            --output-field "$field" --output-warped "$work/warped.nii.gz" --io-iterations "$io"
          registration=$(sed -n 's/.* in \([0-9.]*\) s (network.*/\1/p' "$log")
          params=$("$shmoareg" info --model "$model" | awk '/^parameters:/ { printf "%.2f", $2 / 1e6 }') ;;
      esac
      fieldArgument=()
      [ -n "$field" ] && fieldArgument=(--field "$field")
      row=$("$shmoareg" score --fixed-labels "$fixedLabels" --moving-labels "$movingLabels" "${fieldArgument[@]}" \
              --method "$method" --pair "$pair")
      read -r wall cpu <<< "$timing"
      echo "$mode,${row%,*},$wall,$cpu,${registration:-$wall},$params" >> "$scores"
      echo "$mode $row wall=${wall}s cpu=${cpu}s" >&2
    done
  done
done

# Table I's columns per mode: mean +- std over the pairs.
for mode in isotropic anisotropic; do
  echo
  echo "### $mode ($subjects pairs)"
  echo
  echo "| Method | DSC (%) | ASSD (mm) | % abs(J) <= 0 | wall s / pair | CPU s / pair | registration s / pair | Params (M) |"
  echo "|---|---|---|---:|---:|---:|---:|---:|"
  for method in $methods; do
    awk -F, -v mode="$mode" -v method="$method" '
      $1 == mode && $2 == method { n++; d += 100 * $4; dd += (100 * $4)^2; a += $5; aa += $5^2; f += $6; w += $7; c += $8; r += $9; p = $10 }
      END {
        if (n == 0) exit
        sd = sqrt(dd / n - (d / n)^2); sa = sqrt(aa / n - (a / n)^2); if (sd != sd) sd = 0; if (sa != sa) sa = 0
        printf "| %s | %.1f ± %.1f | %.2f ± %.2f | %.3f | %.1f | %.1f | %.2f | %s |\n", method, d / n, sd, a / n, sa, f / n, w / n, c / n, r / n, (p > 0 ? sprintf("%.2f", p) : "-")
      }' "$scores"
  done
done
