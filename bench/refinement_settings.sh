#!/usr/bin/env bash
# The table of refinement settings in docs/results.md (issue 21): each setting of `register`'s
# refinement (levels, similarity, iterations, smoothing) against Dice, ASSD, end-point error,
# folding and seconds, after the shipped network and from the identity (--refine-from-identity:
# the network's part measured, not assumed). On seed 1's validation pairs by default (SPLIT=val),
# where settings are chosen; SPLIT=test for the test pairs.
#
#   bench/refinement_settings.sh BUILD_DIR OUTPUT_DIR [SUBJECTS] [MODEL]
#
# SETTINGS (optional) is a file of lines "NAME|register options"; the default rows are below.
# Each row runs as its own `register` process with THREADS threads (default 2); the seconds are
# the in-process registration time (network + refinement). OUTPUT_DIR/settings.csv holds every
# pair's row; a Markdown table of the means is printed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: refinement_settings.sh BUILD_DIR OUTPUT_DIR [SUBJECTS] [MODEL]}
out=${2:?usage: refinement_settings.sh BUILD_DIR OUTPUT_DIR [SUBJECTS] [MODEL]}
subjects=${3:-3}
model=${4:-$here/models/SHMoAReg.pt}
threads=${THREADS:-2}
split=${SPLIT:-val}
modes=${MODES:-"isotropic anisotropic"}
shmoareg="$build/src/cli/shmoareg"
config="$here/models/training/colin27-synthetic-3mm.json"
[ -x "$shmoareg" ] || { echo "refinement_settings.sh: $shmoareg not found" >&2; exit 1; }
case "$split" in test | val) ;; *) echo "refinement_settings.sh: SPLIT must be test or val" >&2; exit 1 ;; esac
mkdir -p "$out"
settings="$out/settings.txt"
if [ -n "${SETTINGS:-}" ]; then
  cp "$SETTINGS" "$settings"
else
  cat > "$settings" << 'EOF'
network alone|--refinement none
fast|--refinement fast
fast from the identity|--refinement fast --refine-from-identity
fast, diffusion 0.5 (fast before 2026-12-04)|--refinement fast --io-smoothness 0.5
fast, MIND-SSC|--refinement fast --io-similarity mind
fast, 1 smoothing pass|--refinement fast --io-smoothing-passes 1
accurate|--refinement accurate
accurate from the identity|--refinement accurate --refine-from-identity
accurate, diffusion 0.5, 60 + 30 iterations at 2x + 1x (accurate before 2026-12-04)|--refinement accurate --io-smoothness 0.5 --io-levels 4:80,2:60,1:30
accurate, 60 + 30 iterations at 2x + 1x|--refinement accurate --io-levels 4:80,2:60,1:30
accurate, MIND-SSC|--refinement accurate --io-similarity mind
accurate, auto stop|--refinement accurate --io-iterations auto
EOF
fi
csv="$out/settings.csv"
if [ -z "${TABLE_ONLY:-}" ]; then # TABLE_ONLY=1: print the table of an existing OUTPUT_DIR/settings.csv
echo "mode,setting,pair,dice,assd_mm,folding_percent,registration_s,epe_mm" > "$csv"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), threads=$threads, load: $(uptime)"
for mode in $modes; do
  flag=()
  [ "$mode" = anisotropic ] && flag=(--anisotropic)
  data="$out/data-$mode-$split"
  [ -f "$data/manifest.json" ] || "$shmoareg" synthesize --config "$config" --seed 1 --test 0 "--$split" "$subjects" \
    "${flag[@]}" --known-fields --output "$data" > /dev/null
  while IFS='|' read -r name options; do
    [ -z "$name" ] && continue
    for ((s = 0; s < subjects; ++s)); do
      f=$split$s m=$split$(( (s + 1) % subjects ))
      work="$out/runs/$mode/$(echo "$name" | tr -c 'A-Za-z0-9\n' '_')/pair$s"
      rm -rf "$work" && mkdir -p "$work"
      # shellcheck disable=SC2086
      "$shmoareg" register --model "$model" --device cpu --threads "$threads" --fixed "$data/${f}_image.nii.gz" \
        --moving "$data/${m}_image.nii.gz" --output-field "$work/field.nii.gz" $options > "$work/log.txt" 2>&1 ||
        { echo "failed: $name (log: $work/log.txt)" >&2; cat "$work/log.txt" >&2; exit 1; }
      seconds=$(sed -n 's/.* in \([0-9.]*\) s (network.*/\1/p' "$work/log.txt")
      row=$("$shmoareg" score --fixed-labels "$data/${f}_labels.nii.gz" --moving-labels "$data/${m}_labels.nii.gz" \
        --field "$work/field.nii.gz" --fixed-to-atlas "$data/${f}_to_atlas.nii.gz" \
        --moving-from-atlas "$data/${m}_from_atlas.nii.gz")
      IFS=, read -r _ _ dice assd folding _ epe <<< "$row"
      echo "$mode,${name//,/;},$m->$f,$dice,$assd,$folding,$seconds,$epe" >> "$csv" # the name's commas as ;
    done
    echo "$mode: $name done" >&2
  done < "$settings"
done
fi
for mode in $modes; do
  echo
  echo "### $mode ($split pairs: $subjects)"
  echo
  echo "| Setting | register options | DSC (%) | ASSD (mm) | EPE (mm) | % abs(J) <= 0 | registration s / pair |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  while IFS='|' read -r name options; do
    [ -z "$name" ] && continue
    awk -F, -v mode="$mode" -v name="${name//,/;}" -v label="$name" -v options="$options" '
      $1 == mode && $2 == name { n++; d += 100 * $4; a += $5; f += $6; s += $7; e += $8 }
      END { if (n) printf "| %s | `%s` | %.1f | %.2f | %.2f | %.3f | %.1f |\n", label, options, d / n, a / n, e / n, f / n, s / n }' "$csv"
  done < "$settings"
done
