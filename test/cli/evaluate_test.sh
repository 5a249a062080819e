#!/usr/bin/env bash
# shmoareg evaluate on a small synthetic dataset: Table I's columns as Markdown and CSV, an
# Initial row and one row per model, one CSV line per ordered test pair.
set -euo pipefail
shmoareg=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat > "$out/config.json" <<JSON
{"grid": 32, "output": "$out/run", "synthetic": {"train": 0, "val": 0, "test": 3, "spacing": 4.0}}
JSON
"$shmoareg" evaluate --config "$out/config.json" --preset VM --grid 32 --device cpu --csv "$out/scores.csv" | tee "$out/table.md"
grep -q "| Method | DSC (%) | ASSD (mm) | % abs(J) <= 0 | Time (s) | Params (M) |" "$out/table.md" || { echo "FAIL: no table header"; exit 1; }
grep -q "^| Initial |" "$out/table.md" || { echo "FAIL: no Initial row"; exit 1; }
grep -q "^| VM |" "$out/table.md" || { echo "FAIL: no VM row"; exit 1; }
lines=$(($(wc -l < "$out/scores.csv") - 1))
[ "$lines" -eq 12 ] || { echo "FAIL: $lines CSV rows, expected 2 methods x 6 ordered pairs"; exit 1; }
echo "evaluate test passed"
