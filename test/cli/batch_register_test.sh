#!/usr/bin/env bash
# shmoareg register --pairs (issue 16): one model load for a list of pairs, per-pair outputs and
# Done.json, a failed pair reported while the rest go on (exit 1), a rerun that skips finished
# pairs, shards whose union is the unsharded run with no pair done twice, and usage errors.
set -euo pipefail
shmoareg=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
t=/usr/share/mricron/templates
fail() { echo "FAIL: $*"; exit 1; }
run() { "$shmoareg" register --preset VM --grid 16 --device cpu --threads 1 --refinement none "$@"; }

# Relative paths are relative to the list's folder.
mkdir "$out/lists"
ln -s $t/JHU-WhiteMatter-labels-2mm.nii.gz "$out/lists/jhu.nii.gz"
cat > "$out/lists/pairs.csv" <<CSV
fixed,moving,prefix
jhu.nii.gz,$t/ch2bet.nii.gz,jhu-from-colin
$t/ch2bet.nii.gz,jhu.nii.gz,colin-from-jhu
$t/ch2bet.nii.gz,/nonexistent.nii.gz,broken
jhu.nii.gz,jhu.nii.gz,jhu-from-jhu
CSV

set +e
run --pairs "$out/lists/pairs.csv" --output-dir "$out/all" > "$out/first.log" 2>&1
status=$?
set -e
[ $status -eq 1 ] || { cat "$out/first.log"; fail "a list with a failed pair exits $status, not 1"; }
for name in jhu-from-colin colin-from-jhu jhu-from-jhu; do
  for f in Done.json Field.nii.gz Warped.nii.gz; do
    [ -s "$out/all/$name/$f" ] || fail "$name/$f was not written"
  done
done
[ ! -e "$out/all/broken" ] || fail "the failed pair left a folder"
python3 - "$out/all" <<'PY'
import csv, json, sys
folder = sys.argv[1]
rows = list(csv.DictReader(open(folder + "/summary.csv")))
assert [r["name"] for r in rows] == ["jhu-from-colin", "colin-from-jhu", "broken", "jhu-from-jhu"], rows
assert [r["status"] for r in rows] == ["ok", "ok", "failed", "ok"], rows
assert "/nonexistent.nii.gz" in rows[2]["error"] and "does not exist" in rows[2]["error"], rows[2]
assert all(float(r["seconds"]) > 0 for r in rows if r["status"] == "ok")
summary = json.load(open(folder + "/summary.json"))
assert (summary["registered"], summary["failed"], summary["done_earlier"]) == (3, 1, 0), summary
PY
grep -q "\[2/4\] colin-from-jhu: ok in .* s; ETA 0:00:" "$out/first.log" || fail "no progress line with an ETA"
[ "$(grep -c "^registered with" "$out/first.log")" -eq 3 ] || fail "not three registrations"

# A rerun registers only what is not finished (the failed pair again), keeping the finished files.
before=$(stat -c %Y "$out/all/jhu-from-colin/Field.nii.gz")
set +e
run --pairs "$out/lists/pairs.csv" --output-dir "$out/all" > "$out/rerun.log" 2>&1
status=$?
set -e
[ $status -eq 1 ] || fail "the rerun exits $status, not 1 (the broken pair still fails)"
[ "$(grep -c "complete (.*), skipped" "$out/rerun.log")" -eq 3 ] || { cat "$out/rerun.log"; fail "finished pairs were not skipped"; }
grep -q "^registered with" "$out/rerun.log" && fail "the rerun registered a finished pair"
[ "$(stat -c %Y "$out/all/jhu-from-colin/Field.nii.gz")" = "$before" ] || fail "a finished pair's field was rewritten"
grep -q '"done_earlier": 3' "$out/all/summary.json" || fail "the rerun's summary does not count 3 done earlier"

# Shards: 0/2 and 1/2 into one folder = the unsharded run of the good pairs, no pair twice.
grep -v broken "$out/lists/pairs.csv" > "$out/lists/good.csv"
run --pairs "$out/lists/good.csv" --output-dir "$out/whole" > /dev/null
run --pairs "$out/lists/good.csv" --output-dir "$out/sharded" --shard 0/2 > "$out/shard0.log"
run --pairs "$out/lists/good.csv" --output-dir "$out/sharded" --shard 1/2 > "$out/shard1.log"
python3 - "$out" <<'PY'
import csv, hashlib, sys
out = sys.argv[1]
rows = lambda f: [r for r in csv.DictReader(open(f))]
s0 = rows(out + "/sharded/summary-shard-0-of-2.csv")
s1 = rows(out + "/sharded/summary-shard-1-of-2.csv")
whole = rows(out + "/whole/summary.csv")
assert [r["name"] for r in s0] == ["jhu-from-colin", "jhu-from-jhu"], s0
assert [r["name"] for r in s1] == ["colin-from-jhu"], s1
assert all(r["status"] == "ok" for r in s0 + s1), s0 + s1
assert sorted(r["name"] for r in s0 + s1) == sorted(r["name"] for r in whole)
digest = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()
for r in whole:
    a, b = out + "/whole/" + r["name"] + "/Field.nii.gz", out + "/sharded/" + r["name"] + "/Field.nii.gz"
    assert digest(a) == digest(b), r["name"] + ": the sharded field differs from the unsharded one"
PY
[ "$(grep -c "^registered with" "$out/shard0.log" "$out/shard1.log" | awk -F: '{ s += $2 } END { print s }')" -eq 3 ] ||
  fail "the two shards did not register 3 pairs in all"

# --pair-outputs: only what is asked; ants: ANTs' set (with the inverse) under the pair's folder.
printf 'fixed,moving,moving_labels,prefix\njhu.nii.gz,%s/ch2bet.nii.gz,%s/aal.nii.gz,p\n' $t $t > "$out/lists/one.csv"
run --pairs "$out/lists/one.csv" --output-dir "$out/field-only" --pair-outputs field > /dev/null
[ "$(ls "$out/field-only/p" | tr '\n' ' ')" = "Done.json Field.nii.gz " ] || fail "field only wrote: $(ls "$out/field-only/p")"
run --pairs "$out/lists/one.csv" --output-dir "$out/ants" --pair-outputs ants,labels > /dev/null
for f in 1Warp.nii.gz 1InverseWarp.nii.gz Composite.h5 InverseComposite.h5 Warped.nii.gz WarpedLabels.nii.gz; do
  [ -s "$out/ants/p/$f" ] || fail "--pair-outputs ants,labels did not write $f"
done

# Usage errors (exit 2) and a bad list (exit 1, naming the line).
expect() { # expect STATUS TEXT ARGS...
  local want=$1 text=$2
  shift 2
  set +e
  run "$@" > "$out/expect.log" 2>&1
  local got=$?
  set -e
  [ $got -eq "$want" ] && grep -q -- "$text" "$out/expect.log" || { cat "$out/expect.log"; fail "$* -> $got, wanted $want with '$text'"; }
}
expect 2 "go together" --pairs "$out/lists/good.csv"
expect 2 "names one pair's file" --pairs "$out/lists/good.csv" --output-dir "$out/x" --fixed $t/ch2bet.nii.gz
expect 2 "shard must be I/N" --pairs "$out/lists/good.csv" --output-dir "$out/x" --shard 2/2
expect 2 "shard must be I/N" --pairs "$out/lists/good.csv" --output-dir "$out/x" --shard one
expect 2 "pair-outputs takes field" --pairs "$out/lists/good.csv" --output-dir "$out/x" --pair-outputs field,everything
expect 2 "pair-outputs needs an image" --pairs "$out/lists/good.csv" --output-dir "$out/x" --pair-outputs metrics
printf 'fixed,moving,labels\na,b,c\n' > "$out/lists/bad.csv"
expect 1 "line 1: unknown column 'labels'" --pairs "$out/lists/bad.csv" --output-dir "$out/x"
printf 'fixed,moving\na,b,c\n' > "$out/lists/bad.csv"
expect 1 "line 2: 3 fields where the header has 2" --pairs "$out/lists/bad.csv" --output-dir "$out/x"
printf 'fixed,moving,prefix\na,b,p\nc,d,p\n' > "$out/lists/bad.csv"
expect 1 "the prefix 'p' is used twice" --pairs "$out/lists/bad.csv" --output-dir "$out/x"
echo "batch registration: ok"
