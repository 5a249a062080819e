#!/usr/bin/env bash
# Training throughput with 1 and 2 processes on this machine (issue 16), in one run:
#   a. 1 process, 1 pair per iteration, all threads;
#   b. 1 process, 2 pairs per iteration (gradient accumulation), all threads;
#   c. 2 processes (c10d, Gloo on loopback) of 1 pair each, threads split between them.
# b and c take the same steps (the distributed test checks it); pairs per second is what compares.
#   bench/distributed_training.sh SHMOAREG [ITERATIONS=20] [GRID=64] [THREADS=$(nproc)]
set -euo pipefail
shmoareg=$1
iterations=${2:-20}
grid=${3:-64}
threads=${4:-$(nproc)}
half=$((threads / 2 > 0 ? threads / 2 : 1))
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
config() { # NAME PAIRS THREADS
  cat > "$out/$1.json" << JSON
{"preset": "SHMoAReg", "grid": $grid, "iterations": $iterations, "log_interval": 1,
 "validation_interval": 100000, "checkpoint_interval": 100000, "validation_pairs": 1,
 "pairs_per_iteration": $2, "output": "$out/$1", "threads": $3, "seed": 1,
 "synthetic": {"train": 4, "val": 2, "test": 0}}
JSON
  echo "$out/$1.json"
}
# Seconds between the first and the last iteration row of log.csv (column 10): the steady state.
steady() { awk -F, '$2 == "train" { if (!first) first = $10; last = $10; n++ } END { printf "%.3f %d\n", last - first, n - 1 }' "$1"; }
report() { # NAME PAIRS_PER_ITERATION LABEL
  read -r seconds steps < <(steady "$out/$1/log.csv")
  awk -v s="$seconds" -v n="$steps" -v p="$2" -v label="$3" \
    'BEGIN { printf "| %s | %.2f | %.2f | %.2f |\n", label, s / n, n / s, n * p / s }'
}
echo "machine: $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p')), $(free -g | awk '/Mem:/ {print $2}') GiB; $("$shmoareg" --version)"
echo "SHMoAReg preset, grid $grid^3, $iterations iterations, steady state (first iteration excluded)"
"$shmoareg" train --config "$(config a 1 "$threads")" > "$out/a.txt" 2>&1
"$shmoareg" train --config "$(config b 2 "$threads")" > "$out/b.txt" 2>&1
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
config c 1 "$half" > /dev/null
for rank in 0 1; do
  WORLD_SIZE=2 RANK=$rank MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$shmoareg" train --config "$out/c.json" \
    > "$out/c-rank$rank.txt" 2>&1 &
done
wait
echo "| run | s / iteration | iterations / s | pairs / s |"
echo "|---|---:|---:|---:|"
report a 1 "1 process, 1 pair, $threads threads"
report b 2 "1 process, 2 pairs (accumulated), $threads threads"
report c 2 "2 processes x 1 pair, $half thread(s) each (Gloo, loopback)"
