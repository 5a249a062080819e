#!/usr/bin/env bash
# Ctrl-C during `shmoareg train` writes a checkpoint and exits cleanly (130); --resume finishes.
set -euo pipefail
shmoareg=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat > "$out/config.json" <<JSON
{"preset": "VM", "grid": 32, "iterations": 100000, "log_interval": 1, "output": "$out/run",
 "threads": 2, "synthetic": {"train": 2, "val": 2, "test": 0, "spacing": 4.0}}
JSON
"$shmoareg" train --config "$out/config.json" > "$out/log.txt" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q "^iter 3/" "$out/log.txt" 2>/dev/null && break
  sleep 0.2
done
kill -INT $pid
set +e
wait $pid
code=$?
set -e
cat "$out/log.txt" | tail -3
[ $code -eq 130 ] || { echo "FAIL: exit code $code after Ctrl-C (expected 130)"; exit 1; }
grep -q "checkpoint written" "$out/log.txt" || { echo "FAIL: no checkpoint message"; exit 1; }
[ -s "$out/run/checkpoint.pt" ] || { echo "FAIL: no checkpoint"; exit 1; }
[ -z "$(ls "$out/run" | grep partial || true)" ] || { echo "FAIL: partial checkpoint left"; exit 1; }
stopped=$(sed -n 's/^stopped at iteration \([0-9]*\).*/\1/p' "$out/log.txt")
"$shmoareg" train --config "$out/config.json" --iterations $((stopped + 2)) --resume 2>&1 | tee "$out/resume.txt"
grep -q "resuming at iteration $stopped" "$out/resume.txt" || { echo "FAIL: did not resume at $stopped"; exit 1; }
[ -s "$out/run/model.pt" ] || { echo "FAIL: no model after resuming"; exit 1; }
echo "interrupt test passed"
