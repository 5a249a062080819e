#!/usr/bin/env bash
# SIGKILL at random moments (issue 17): training killed 20 times, checkpoints written every
# iteration so that many kills land in a write: the last checkpoint always loads, and a run
# resumed after the 20 kills ends with the same weights as an uninterrupted run. Then
# `register` killed at random moments leaves no file under a final output name that is not
# complete (outputs are written under temporary names and renamed into place).
set -euo pipefail
shmoareg=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
config() { # config OUTPUT_FOLDER
  cat <<JSON
{"preset": "VM", "grid": 16, "iterations": 100000, "log_interval": 1, "checkpoint_interval": 1,
 "validation_interval": 1000000, "output": "$1", "threads": 1,
 "synthetic": {"train": 2, "val": 2, "test": 0, "spacing": 4.0}}
JSON
}
config "$out/killed" > "$out/killed.json"
config "$out/straight" > "$out/straight.json"
RANDOM=17 # the kill times are the same on every run of the test
resume=
for kill in $(seq 1 20); do
  "$shmoareg" train --config "$out/killed.json" $resume > "$out/train.log" 2>&1 &
  pid=$!
  # The first run waits for its first iteration; then a random moment within ~1.5 s.
  if [ -z "$resume" ]; then
    for _ in $(seq 1 600); do
      grep -q "^iter 1/" "$out/train.log" 2>/dev/null && break
      kill -0 $pid 2>/dev/null || { echo "FAIL: training ended by itself:"; tail -3 "$out/train.log"; exit 1; }
      sleep 0.1
    done
  fi
  sleep "$((RANDOM % 15 + 2))e-1"
  kill -KILL $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  cat "$out/train.log" >> "$out/all-kills.log"
  if [ -e "$out/killed/checkpoint.pt" ]; then
    "$shmoareg" info --model "$out/killed/checkpoint.pt" > /dev/null 2> "$out/info.err" ||
      { echo "FAIL: after kill $kill the checkpoint does not load: $(cat "$out/info.err")"; exit 1; }
    resume=--resume
  fi
done
[ -n "$resume" ] || { echo "FAIL: no checkpoint was ever written"; exit 1; }
# Past every iteration a killed run reached (the checkpoint is at or before the last one logged).
reached=$(sed -n 's/^iter \([0-9]*\)\/.*/\1/p' "$out/all-kills.log" | sort -n | tail -1)
target=$((${reached:-0} + 3))
"$shmoareg" train --config "$out/killed.json" --resume --iterations $target > "$out/resumed.log" 2>&1 ||
  { echo "FAIL: resume after 20 kills:"; tail -5 "$out/resumed.log"; exit 1; }
"$shmoareg" train --config "$out/straight.json" --iterations $target > "$out/straight.log" 2>&1
# Same weights: the same field from both models on one pair.
"$shmoareg" synthesize --output "$out/pair" --test 2 > /dev/null
for run in killed straight; do
  "$shmoareg" register --model "$out/$run/model.pt" --device cpu --refinement none --grid 16 \
    --fixed "$out/pair/test0_image.nii.gz" --moving "$out/pair/test1_image.nii.gz" \
    --output-field "$out/$run-field.nii.gz" > /dev/null
done
cmp -s "$out/killed-field.nii.gz" "$out/straight-field.nii.gz" ||
  { echo "FAIL: $target iterations with 20 kills and resumes differ from $target without"; exit 1; }
echo "training: 20 SIGKILLs (the last at iteration ${reached:-0}), resumed to $target: the same weights as an uninterrupted run"

# register killed at random moments: every file under a final name is complete.
mkdir "$out/outputs"
start=$(date +%s%N)
"$shmoareg" register --model "$out/straight/model.pt" --device cpu --refinement fast \
  --fixed "$out/pair/test0_image.nii.gz" --moving "$out/pair/test1_image.nii.gz" --output-prefix "$out/outputs/P" > /dev/null
duration_ms=$((($(date +%s%N) - start) / 1000000))
for kill in $(seq 1 10); do
  rm -f "$out/outputs"/*
  "$shmoareg" register --model "$out/straight/model.pt" --device cpu --refinement fast \
    --fixed "$out/pair/test0_image.nii.gz" --moving "$out/pair/test1_image.nii.gz" \
    --output-prefix "$out/outputs/P" > /dev/null 2>&1 &
  pid=$!
  # Late in the run, where the outputs are written (60 to 105 % of an uninterrupted run).
  sleep "$((duration_ms * (60 + RANDOM % 45) / 100))e-3"
  kill -KILL $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  for f in "$out/outputs"/P*; do
    [ -e "$f" ] || continue
    case "$f" in *.partial-*) continue ;; esac # temporary names: never read as results
    case "$f" in
      *.nii.gz) gzip -t "$f" || { echo "FAIL: kill $kill left an incomplete $f"; exit 1; } ;;
      *.h5) "$shmoareg" warp --transform "$f" --points <(echo "0,0,0") --output-points "$out/p.csv" > /dev/null ||
              { echo "FAIL: kill $kill left an unreadable $f"; exit 1; } ;;
    esac
  done
done
echo "crash-safety test passed"
