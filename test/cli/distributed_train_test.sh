#!/usr/bin/env bash
# Distributed data-parallel training (issue 16), two processes on loopback:
#  1. 2 ranks of one pair each take exactly the steps of 1 process that averages the gradients of
#     the same two pairs (pairs_per_iteration 2): the same losses in every log row (8 digits), and
#     the ranks' weights identical after every step (the trainer compares exact checksums);
#  2. resume with 2 ranks continues exactly; a 2-rank checkpoint also resumes in 1 process of 2
#     pairs, and is refused by 1 process of 1 pair;
#  3. a rank killed with SIGKILL makes the other stop with an error within the timeout, and the last
#     checkpoint stays loadable;
#  4. a rank that cannot reach rank 0's store stops with an error within the timeout;
#  5. settings that describe no group are usage errors (exit 2).
set -euo pipefail
shmoareg=$1
out=$(mktemp -d)
pids=()
trap 'kill -9 "${pids[@]}" 2> /dev/null || true; rm -rf "$out"' EXIT
fail() {
  echo "FAIL: $*"
  exit 1
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# SHMoAReg itself: its MoA router noise and drop path draw random numbers in every forward pass.
config() { # OUTPUT PAIRS_PER_ITERATION ITERATIONS
  cat > "$out/$1.json" << JSON
{"preset": "SHMoAReg", "grid": 32, "iterations": $3, "log_interval": 1, "validation_interval": 2,
 "checkpoint_interval": 2, "validation_pairs": 2, "pairs_per_iteration": $2, "output": "$out/$1",
 "threads": 1, "seed": 5, "synthetic": {"train": 2, "val": 2, "test": 0, "spacing": 4.0}}
JSON
  echo "$out/$1.json"
}
# The log's loss columns (every column but the wall-clock seconds), rows of iterations > $2.
losses() { awk -F, -v after="${2:-0}" 'NR > 1 && $1 > after { $10 = ""; print }' OFS=, "$1"; }
two_ranks() { # CONFIG LOGPREFIX [FLAGS...]: both ranks, waits; returns 0 if both exited 0
  local cfg=$1 prefix=$2 port
  shift 2
  port=$(free_port)
  WORLD_SIZE=2 RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$shmoareg" train --config "$cfg" "$@" \
    > "$prefix-rank0.txt" 2>&1 &
  local p0=$!
  WORLD_SIZE=2 RANK=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$shmoareg" train --config "$cfg" "$@" \
    > "$prefix-rank1.txt" 2>&1 &
  local p1=$!
  pids+=("$p0" "$p1")
  local c0=0 c1=0
  wait "$p0" || c0=$?
  wait "$p1" || c1=$?
  [ "$c0" = 0 ] && [ "$c1" = 0 ] || {
    tail -5 "$prefix-rank0.txt" "$prefix-rank1.txt"
    return 1
  }
}

echo "== 1. two ranks of one pair == one process of two pairs"
"$shmoareg" train --config "$(config single 2 4)" > "$out/single.txt" 2>&1 || { cat "$out/single.txt"; fail "single process"; }
two_ranks "$(config ranks 1 4)" "$out/ranks" || fail "two ranks"
grep -q "distributed: 2 ranks joined" "$out/ranks-rank0.txt" || fail "rank 0 did not report the group"
grep -q "weights of the 2 ranks were identical after every iteration" "$out/ranks-rank0.txt" ||
  fail "no check of identical weights"
[ ! -s "$out/ranks-rank1.txt" ] || { cat "$out/ranks-rank1.txt"; fail "rank 1 printed (rank 0 alone logs)"; }
[ "$(losses "$out/single/log.csv" | wc -l)" -ge 6 ] || fail "too few log rows"
diff <(losses "$out/single/log.csv") <(losses "$out/ranks/log.csv") || fail "2 ranks and 1 process of 2 pairs differ"
# Not trivially equal: one pair per iteration follows another path.
"$shmoareg" train --config "$(config one 1 4)" > "$out/one.txt" 2>&1 || fail "one pair"
! diff -q <(losses "$out/single/log.csv" 1) <(losses "$out/one/log.csv" 1) > /dev/null ||
  fail "one pair per iteration gave the same losses as two"

echo "== 2. resume"
two_ranks "$(config resumed 1 2)" "$out/resumed-a" || fail "two ranks, first half"
cp -r "$out/resumed" "$out/resumed-single"
cp -r "$out/resumed" "$out/refused"
two_ranks "$out/resumed.json" "$out/resumed-b" --iterations 4 --resume || fail "two ranks, resumed"
grep -q "resuming at iteration 2" "$out/resumed-b-rank0.txt" || fail "did not resume at 2"
diff <(losses "$out/ranks/log.csv") <(losses "$out/resumed/log.csv") || fail "resumed 2 ranks differ from the uninterrupted run"
# The same 2-rank checkpoint in one process of two pairs continues the same way; of one pair, refused.
"$shmoareg" train --config "$(config resumed-single 2 4)" --resume > "$out/resumed-single.txt" 2>&1 ||
  { cat "$out/resumed-single.txt"; fail "one process of 2 pairs did not resume the 2-rank checkpoint"; }
diff <(losses "$out/ranks/log.csv") <(losses "$out/resumed-single/log.csv") || fail "1 process resumed differently"
code=0
"$shmoareg" train --config "$(config refused 1 4)" --resume > "$out/refused.txt" 2>&1 || code=$?
[ $code = 1 ] || { cat "$out/refused.txt"; fail "resume with another number of pairs: exit $code (expected 1)"; }
grep -q "written by a run of 2 pairs per iteration" "$out/refused.txt" || { cat "$out/refused.txt"; fail "refusal unclear"; }

echo "== 3. a killed rank stops the other"
port=$(free_port)
config killed 1 100000 > /dev/null
WORLD_SIZE=2 RANK=0 MASTER_PORT=$port "$shmoareg" train --config "$out/killed.json" --distributed-timeout 30 \
  > "$out/killed-rank0.txt" 2>&1 &
p0=$!
WORLD_SIZE=2 RANK=1 MASTER_PORT=$port "$shmoareg" train --config "$out/killed.json" --distributed-timeout 30 \
  > "$out/killed-rank1.txt" 2>&1 &
p1=$!
pids+=("$p0" "$p1")
for _ in $(seq 1 900); do
  grep -q "^iter 3/" "$out/killed-rank0.txt" 2> /dev/null && break
  sleep 0.2
done
grep -q "^iter 3/" "$out/killed-rank0.txt" || fail "rank 0 did not reach iteration 3"
kill -9 $p1
killed_at=$(date +%s)
code=0
wait $p0 || code=$?
seconds=$(($(date +%s) - killed_at))
tail -2 "$out/killed-rank0.txt"
[ $code = 1 ] || fail "rank 0 exited $code after rank 1 was killed (expected 1)"
[ $seconds -le 40 ] || fail "rank 0 took $seconds s to stop (timeout 30 s)"
grep -q "^shmoareg: error: rank 0 of 2: .* failed: another rank stopped" "$out/killed-rank0.txt" ||
  fail "rank 0's error does not say what happened"
! grep -q "frame #" "$out/killed-rank0.txt" || fail "a LibTorch trace reached the user"
echo "   rank 0 stopped $seconds s after rank 1 was killed"
"$shmoareg" info --model "$out/killed/checkpoint.pt" > /dev/null || fail "the last checkpoint does not load"

echo "== 4. no store to reach"
start=$(date +%s)
code=0
WORLD_SIZE=2 RANK=1 MASTER_PORT=$(free_port) "$shmoareg" train --config "$out/killed.json" --distributed-timeout 3 \
  > "$out/alone.txt" 2>&1 || code=$?
seconds=$(($(date +%s) - start))
cat "$out/alone.txt"
[ $code = 1 ] || fail "a rank alone exited $code (expected 1)"
grep -q "rank 1 of 2: cannot reach the store of rank 0 at 127.0.0.1:" "$out/alone.txt" || fail "unclear error"
[ $seconds -le 30 ] || fail "a rank alone took $seconds s to stop (timeout 3 s)"

echo "== 5. settings that describe no group"
for flags in "--world-size 2 --rank 2" "--world-size 0" "--world-size 2 --rank 0 --master-port 70000" \
  "--world-size 2 --rank 0 --distributed-timeout 0" "--pairs-per-iteration 0"; do
  code=0
  # shellcheck disable=SC2086
  "$shmoareg" train --config "$out/killed.json" $flags > "$out/usage.txt" 2>&1 || code=$?
  [ $code = 2 ] || { cat "$out/usage.txt"; fail "'$flags': exit $code (expected 2)"; }
  head -1 "$out/usage.txt"
done
code=0
WORLD_SIZE=two "$shmoareg" train --config "$out/killed.json" > "$out/usage.txt" 2>&1 || code=$?
[ $code = 2 ] && grep -q "WORLD_SIZE is 'two'" "$out/usage.txt" || { cat "$out/usage.txt"; fail "WORLD_SIZE=two: exit $code"; }
echo "distributed training test passed"
