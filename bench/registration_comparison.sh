#!/usr/bin/env bash
# The registration comparison of docs/results.md: identity, elastix (affine + B-spline), ITK's
# SyN and diffeomorphic demons, the library's presets trained with the same budget
# (scripts/train-models.sh), and the peers installed from PyPI into their own virtual
# environment (bench/peers/setup-venv.sh; none of their code is in this repository): ANTs SyN
# (antspyx), elastix from Python (itk-elastix), ConvexAdam, FireANTs and MONAI's VoxelMorph
# (trained with the presets' budget by bench/peers/train_monai_voxelmorph.py). Modes: fixed test
# pairs of the synthetic Colin27 dataset (test-split seeds: never used in training or
# validation), isotropic 2 mm and anisotropic 3 x 3 x 2 mm; and `real`, two different real
# brains (Colin27 and the ICBM 2009a template, tissue classes CSF/GM/WM; bench/real_brains.py),
# each the fixed image once.
# Every method writes a displacement field (fixed -> moving, mm, on the fixed grid), and every
# field is scored by the same command, `shmoareg score` (the module's Dice, ASSD and Jacobian
# filters, labels warped with nearest neighbour).
#
#   bench/registration_comparison.sh BUILD_DIR MODELS_ROOT OUTPUT_DIR [SUBJECTS] [METHODS]
#
# MODELS_ROOT holds PRESET/model.pt (default ~/.cache/shmoareg/training); a method PRESET is the
# network alone, PRESET:N runs it N times (register --network-passes N), PRESET+fast /
# PRESET+accurate adds that refinement (register --refinement; PRESET:N+fast both), and
# identity+fast / identity+accurate runs the refinement from the identity. SUBJECTS test
# subjects per mode give SUBJECTS ordered pairs (s+1 -> s, cyclic; default 3). Every method runs
# as its own process with THREADS threads (default 2); wall and CPU (user + sys) seconds are of
# that process, so the networks' include LibTorch's start and the model load; the networks'
# in-process registration time is reported too (for the PyPI peers: the registration call alone,
# without Python's imports and the file reading and writing). Prints Markdown tables;
# OUTPUT_DIR/scores.csv holds every row.
#
# MODES (default "isotropic anisotropic") selects the modes, e.g. MODES="isotropic anisotropic real".
# SPLIT=val (default test) uses seed 1's validation subjects instead of its test subjects: the
# pairs on which settings are chosen (never on the test pairs).
# Methods of the PyPI peers: convexadam, ants-syn, fireants, itk-elastix, monai-VoxelMorph (its
# model: MODELS_ROOT/monai-VoxelMorph/model.pt). SHMOAREG_PEERS_VENV: the peers' environment
# (default ~/.cache/shmoareg/peers-venv; created on first use, cached).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: registration_comparison.sh BUILD_DIR MODELS_ROOT OUTPUT_DIR [SUBJECTS] [METHODS]}
models=${2:-$HOME/.cache/shmoareg/training}
out=${3:?usage: registration_comparison.sh BUILD_DIR MODELS_ROOT OUTPUT_DIR [SUBJECTS] [METHODS]}
subjects=${4:-3}
methods=${5:-"identity elastix SyN demons VM TM 2casVM Pyramid SHMoAReg SHMoAReg_diff"}
modes=${MODES:-"isotropic anisotropic"}
threads=${THREADS:-2}
split=${SPLIT:-test}
case "$split" in test | val) ;; *) echo "registration_comparison.sh: SPLIT must be test or val" >&2; exit 1 ;; esac
shmoareg="$build/src/cli/shmoareg"
syn="$build/bench/shmoareg_ItkSyNRegistration"
demons="$build/bench/shmoareg_ItkDemonsRegistration"
config="$here/models/training/colin27-synthetic-3mm.json"
# The PyPI peers' runner scripts, by method name.
declare -A peerRunner=([convexadam]=run_convexadam.py [ants-syn]=run_ants.py [fireants]=run_fireants.py
                       [itk-elastix]=run_itk_elastix.py [monai-VoxelMorph]=run_monai_voxelmorph.py)
needs() { [[ " $methods " == *" $1 "* ]]; }
needed=("$shmoareg")
needs SyN && needed+=("$syn")
needs demons && needed+=("$demons")
for exe in "${needed[@]}"; do
  [ -x "$exe" ] || { echo "registration_comparison.sh: $exe not found (build with benchmarks on)" >&2; exit 1; }
done
if needs elastix; then
  command -v elastix > /dev/null || { echo "registration_comparison.sh: elastix not installed" >&2; exit 1; }
fi
for mode in $modes; do
  case "$mode" in isotropic | anisotropic | real) ;; *) echo "registration_comparison.sh: unknown mode '$mode'" >&2; exit 1 ;; esac
done
python=""
usesPeers=0
for method in $methods; do [ -n "${peerRunner[$method]:-}" ] && usesPeers=1; done
if [ "$usesPeers" = 1 ] || [[ " $modes " == *" real "* ]]; then
  python="$("$here/bench/peers/setup-venv.sh")/bin/python"
fi
mkdir -p "$out"
if [ -n "$python" ]; then
  { echo "# $(date -u +%Y-%m-%dT%H:%MZ)"; "$python" --version; "$python" -m pip freeze --disable-pip-version-check; } > "$out/peers-versions.txt"
fi
# Whatever else runs on the cores changes wall times: the load at the start and the end is kept.
{ uptime; top -bn1 | head -20; } > "$out/load-start.txt" 2>&1 || true
scores="$out/scores.csv"
echo "mode,method,pair,dice,assd_mm,folding_percent,wall_s,cpu_s,registration_s,params_M,epe_mm" > "$scores"

# Runs a command, leaving "wall cpu" seconds of it (and its children) in $timing.
timed() {
  local TIMEFORMAT="%R %U %S" t
  t=$( { time "$@" > "$log" 2>&1 ; } 2>&1 ) || { echo "failed: $* (log: $log)" >&2; cat "$log" >&2; exit 1; }
  timing=$(echo "$t" | awk '{ printf "%.3f %.3f", $1, $2 + $3 }')
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), threads=$threads"
echo "load at start: $(uptime)"
for mode in $modes; do
  data="$out/data-$mode"
  # The mode's ordered pairs: "fixed moving" subject names; SUBJECT_image/labels.nii.gz in $data.
  pairs=()
  if [ "$mode" = real ]; then
    [ -f "$data/real_brains.json" ] || "$python" "$here/bench/real_brains.py" "$data" > /dev/null
    pairs=("colin27 icbm2009a" "icbm2009a colin27")
  else
    flag=()
    [ "$mode" = anisotropic ] && flag=(--anisotropic)
    [ "$split" = val ] && data="$out/data-$mode-val"
    [ -f "$data/manifest.json" ] || "$shmoareg" synthesize --config "$config" --seed 1 --test 0 "--$split" "$subjects" \
      "${flag[@]}" --known-fields --output "$data" > /dev/null
    for ((s = 0; s < subjects; ++s)); do pairs+=("$split$s $split$(( (s + 1) % subjects ))"); done
  fi
  for ((s = 0; s < ${#pairs[@]}; ++s)); do
    read -r f m <<< "${pairs[$s]}"
    fixed="$data/${f}_image.nii.gz"; moving="$data/${m}_image.nii.gz"
    fixedLabels="$data/${f}_labels.nii.gz"; movingLabels="$data/${m}_labels.nii.gz"
    pair="$m->$f"
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
        convexadam | ants-syn | fireants | itk-elastix | monai-VoxelMorph)
          peerArguments=()
          [ "$method" = monai-VoxelMorph ] && peerArguments=("$models/monai-VoxelMorph/model.pt")
          timed "$python" "$here/bench/peers/${peerRunner[$method]}" "$fixed" "$moving" "$field" "$threads" "${peerArguments[@]}"
          registration=$(sed -n 's/^registration \([0-9.]*\) s$/\1/p' "$log" | tail -1)
          [ "$method" = monai-VoxelMorph ] && params=$(sed -n 's/^parameters \([0-9]*\)$/\1/p' "$log" | awk '{ printf "%.2f", $1 / 1e6 }') ;;
        *)
          # PRESET: the trained model alone; PRESET+fast / PRESET+accurate: then that refinement
          # (register --refinement); identity+fast / identity+accurate: the refinement from the
          # identity (--refine-from-identity, the SHMoAReg model giving only the device).
          preset=${method%%+*} refinement=none passes=1
          [ "$preset" != "$method" ] && refinement=${method#*+}
          if [[ "$preset" == *:* ]]; then passes=${preset#*:}; preset=${preset%%:*}; fi
          start=()
          if [ "$preset" = identity ]; then preset=SHMoAReg; start=(--refine-from-identity); fi
          model="$models/$preset/model.pt"
          [ -f "$model" ] || { echo "registration_comparison.sh: $model not found (scripts/train-models.sh)" >&2; exit 1; }
          timed "$shmoareg" register --model "$model" --device cpu --threads "$threads" --fixed "$fixed" --moving "$moving" \
            --output-field "$field" --output-warped "$work/warped.nii.gz" --refinement "$refinement" \
            --network-passes "$passes" "${start[@]}"
          registration=$(sed -n 's/.* in \([0-9.]*\) s (network.*/\1/p' "$log")
          params=$("$shmoareg" info --model "$model" | awk '/^parameters:/ { printf "%.2f", $2 / 1e6 }') ;;
      esac
      scoreArguments=()
      [ -n "$field" ] && scoreArguments=(--field "$field")
      # The synthetic pairs' known field: the end-point error (the real brains have none).
      [ -f "$data/${f}_to_atlas.nii.gz" ] &&
        scoreArguments+=(--fixed-to-atlas "$data/${f}_to_atlas.nii.gz" --moving-from-atlas "$data/${m}_from_atlas.nii.gz")
      row=$("$shmoareg" score --fixed-labels "$fixedLabels" --moving-labels "$movingLabels" "${scoreArguments[@]}" \
              --method "$method" --pair "$pair")
      IFS=, read -r _ _ dice assd folding _ epe <<< "$row"
      read -r wall cpu <<< "$timing"
      echo "$mode,$method,$pair,$dice,$assd,$folding,$wall,$cpu,${registration:-$wall},$params,$epe" >> "$scores"
      echo "$mode $row wall=${wall}s cpu=${cpu}s" >&2
    done
  done
done

{ uptime; top -bn1 | head -20; } > "$out/load-end.txt" 2>&1 || true
echo "load at end: $(uptime)"

# Table I's columns per mode: mean +- std over the pairs.
for mode in $modes; do
  echo
  echo "### $mode ($(awk -F, -v mode="$mode" '$1 == mode { n[$3] = 1 } END { print length(n) }' "$scores") pairs)"
  echo
  echo "| Method | DSC (%) | ASSD (mm) | EPE (mm) | % abs(J) <= 0 | wall s / pair | CPU s / pair | registration s / pair | Params (M) |"
  echo "|---|---|---|---|---:|---:|---:|---:|---:|"
  for method in $methods; do
    awk -F, -v mode="$mode" -v method="$method" '
      $1 == mode && $2 == method { n++; d += 100 * $4; dd += (100 * $4)^2; a += $5; aa += $5^2; f += $6; w += $7; c += $8; r += $9; p = $10
                                   if ($11 != "") { ne++; e += $11; ee += $11^2 } }
      END {
        if (n == 0) exit
        sd = sqrt(dd / n - (d / n)^2); sa = sqrt(aa / n - (a / n)^2); if (sd != sd) sd = 0; if (sa != sa) sa = 0
        epe = "-"
        if (ne > 0) { se = sqrt(ee / ne - (e / ne)^2); if (se != se) se = 0; epe = sprintf("%.2f ± %.2f", e / ne, se) }
        printf "| %s | %.1f ± %.1f | %.2f ± %.2f | %s | %.3f | %.1f | %.1f | %.2f | %s |\n", method, d / n, sd, a / n, sa, epe, f / n, w / n, c / n, r / n, (p > 0 ? sprintf("%.2f", p) : "-")
      }' "$scores"
  done
done
