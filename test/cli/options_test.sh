#!/usr/bin/env bash
# The command line's conventions: a generated --help per command, settings saved with
# --print-config and read back with --config (the same registration), a misspelt setting refused,
# progress on stderr and results on stdout, --quiet, the exit codes (0, 1 bad data, 2 usage).
set -euo pipefail
shmoareg=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Every command's --help: exit 0, its own options listed, and --quiet (every command has it).
for command in register train evaluate score synthesize render plot-training info export warp presets forward; do
  help=$("$shmoareg" $command --help) || fail "$command --help is not exit 0"
  echo "$help" | grep -q -- "--quiet" || fail "$command --help does not list --quiet: $help"
done
help=$("$shmoareg" register --help)
echo "$help" | grep -q -- "--io-levels" || fail "register --help does not list --io-levels"
echo "$help" | grep -q -- "--print-config" || fail "register --help does not list --print-config"

python3 - "$out" <<'PY'
import array, math, sys
folder = sys.argv[1]
for name, shift in (("fixed", 0.0), ("moving", 2.0)):
    with open(f"{folder}/{name}.raw", "wb") as raw:
        array.array("f", [math.exp(-((x - 10 - shift) ** 2 + (y - 11) ** 2 + (z - 12) ** 2) / 30.0)
                          for z in range(24) for y in range(24) for x in range(24)]).tofile(raw)
    open(f"{folder}/{name}.mhd", "w").write(
        "ObjectType = Image\nNDims = 3\nDimSize = 24 24 24\nElementSpacing = 2 2 2\n"
        f"ElementType = MET_FLOAT\nElementDataFile = {name}.raw\n")
PY
pair=(--fixed "$out/fixed.mhd" --moving "$out/moving.mhd")
settings=(--preset VM --grid 16 --device cpu --refinement fast --io-levels 2:6,1:4 --io-smoothness 3)

# Settings saved as a file and read back give the same registration as the flags.
"$shmoareg" register "${settings[@]}" --print-config > "$out/settings.toml"
grep -q "io-levels" "$out/settings.toml" || fail "--print-config does not hold --io-levels: $(cat "$out/settings.toml")"
grep -q "^fixed" "$out/settings.toml" && fail "--print-config printed an option that was not given"
"$shmoareg" register "${settings[@]}" "${pair[@]}" --output-field "$out/flags.nii.gz" > "$out/flags.out" 2> "$out/flags.err"
"$shmoareg" register --config "$out/settings.toml" "${pair[@]}" --output-field "$out/file.nii.gz" > /dev/null 2>&1
cmp -s "$out/flags.nii.gz" "$out/file.nii.gz" || fail "--config gives another field than the same flags"
# Progress on stderr (the network, each level, writing), results on stdout.
grep -q "^network: " "$out/flags.err" || fail "no network progress line on stderr: $(cat "$out/flags.err")"
[ "$(grep -c "^refinement level " "$out/flags.err")" -eq 2 ] || fail "not a line per refinement level on stderr"
grep -q "^writing the outputs" "$out/flags.err" || fail "no writing progress line on stderr"
grep -q "^registered with " "$out/flags.out" || fail "no summary on stdout: $(cat "$out/flags.out")"
grep -q "refinement level\|^network: " "$out/flags.out" && fail "progress mixed into stdout"
# --quiet: nothing on either stream, the output still written.
"$shmoareg" register "${settings[@]}" "${pair[@]}" --output-field "$out/quiet.nii.gz" --quiet > "$out/quiet.out" 2> "$out/quiet.err"
[ -s "$out/quiet.nii.gz" ] && [ ! -s "$out/quiet.out" ] && [ ! -s "$out/quiet.err" ] ||
  fail "--quiet printed something or wrote nothing: $(cat "$out/quiet.out" "$out/quiet.err")"

# The other commands keep the same split: synthesize's summary is a result; train's log (every
# iteration, validation, the model written) is progress; --quiet silences both.
"$shmoareg" synthesize --train 2 --val 2 --test 0 --config <(echo '{"synthetic": {"spacing": 8.0}}') \
  --output "$out/subjects" > "$out/synthesize.out" 2> "$out/synthesize.err" ||
  fail "synthesize failed: $(cat "$out/synthesize.err")"
grep -q "^wrote 4 subjects" "$out/synthesize.out" || fail "synthesize: no summary on stdout: $(cat "$out/synthesize.out")"
[ ! -s "$out/synthesize.err" ] || fail "synthesize wrote on stderr: $(cat "$out/synthesize.err")"
"$shmoareg" synthesize --test 1 --output "$out/quiet-subjects" --quiet > "$out/synthesize-quiet.out" 2>&1
[ -s "$out/quiet-subjects/manifest.json" ] && [ ! -s "$out/synthesize-quiet.out" ] ||
  fail "synthesize --quiet printed something or wrote nothing: $(cat "$out/synthesize-quiet.out")"
cat > "$out/train.json" <<JSON
{"preset": "VM", "grid": [16, 16, 16], "iterations": 2, "log_interval": 1, "validation_interval": 2,
 "validation_pairs": 1, "threads": 1, "data": "$out/subjects/manifest.json"}
JSON
"$shmoareg" train --config "$out/train.json" --output "$out/run" > "$out/train.out" 2> "$out/train.err" ||
  fail "train failed: $(cat "$out/train.err")"
grep -q "^iter 2/2" "$out/train.err" || fail "train: no iteration lines on stderr: $(cat "$out/train.err")"
grep -q "model written to" "$out/train.err" || fail "train: no closing line on stderr"
[ ! -s "$out/train.out" ] || fail "train printed its log on stdout: $(cat "$out/train.out")"
"$shmoareg" train --config "$out/train.json" --output "$out/quiet-run" --quiet > "$out/train-quiet.out" 2>&1
[ -s "$out/quiet-run/model.pt" ] && [ ! -s "$out/train-quiet.out" ] ||
  fail "train --quiet printed something or wrote no model: $(cat "$out/train-quiet.out")"

# Usage errors, exit 2, nothing written: a misspelt setting in a file, --quiet with --verbose, a
# value-less option, an unknown option.
printf 'refinment = "fast"\n' > "$out/misspelt.toml"
expect_usage() {
  set +e
  message=$("$shmoareg" register "${pair[@]}" --preset VM --output-field "$out/never.nii.gz" "$@" 2>&1)
  code=$?
  set -e
  [ $code -eq 2 ] || fail "$*: exit $code, not 2: $message"
  [ ! -e "$out/never.nii.gz" ] || fail "$*: an output was written"
}
expect_usage --config "$out/misspelt.toml"
expect_usage --quiet --verbose
expect_usage --grid
expect_usage --no-such-option 3
# Values checked as they are parsed (declared with the option), on the command line and in a
# configuration file alike; the message names the option and what it must be.
expect_value() { # EXPECTED_MESSAGE ARGS...
  local expected=$1
  shift
  expect_usage "$@"
  # A pattern match, not echo | grep -q: with pipefail, grep's early exit can fail the echo.
  [[ $message == *"$expected"* ]] || fail "$*: the message lacks '$expected': $message"
}
expect_value "--grid: must be a whole number >= 1, not '0'" --grid 0
expect_value "--grid: must be a whole number >= 1, not '32x'" --grid 32x
expect_value "--io-similarity: must be ncc, mind or mse, not 'ssd'" --io-similarity ssd
expect_value "--io-learning-rate: must be a number > 0, not '0'" --io-learning-rate 0
expect_value "--io-smoothness: must be a number >= 0, not '-1'" --io-smoothness -1
expect_value "--io-folding: must be a number >= 0, not 'nan'" --io-folding nan
expect_value "--network-passes: must be a whole number >= 1, not '0'" --network-passes 0
printf 'grid = 0\n' > "$out/zero-grid.toml"
expect_value "--grid: must be a whole number >= 1, not '0'" --config "$out/zero-grid.toml"
set +e
message=$("$shmoareg" warp --input "$out/fixed.mhd" --reference "$out/fixed.mhd" --transform "$out/flags.nii.gz" \
  --output "$out/never.nii.gz" --interpolation cubic 2>&1)
code=$?
set -e
[ $code -eq 2 ] && [[ $message == *"--interpolation: must be linear, nearest or label, not 'cubic'"* ]] ||
  fail "warp --interpolation cubic: exit $code: $message"
set +e
"$shmoareg" register "${pair[@]}" --model "$out/none.pt" --output-field "$out/never.nii.gz" > /dev/null 2>&1
[ $? -eq 1 ] || fail "a missing model file is not exit 1"
set -e

# train --print-config: the JSON configuration in effect, which reads back as it is.
"$shmoareg" train --preset VM --lr 0.0003 --iterations 7 --print-config > "$out/train.json"
python3 -c "import json,sys; c=json.load(open(sys.argv[1])); sys.exit(0 if c['learning_rate']==0.0003 and c['iterations']==7 else 1)" \
  "$out/train.json" || fail "train --print-config: $(cat "$out/train.json")"
"$shmoareg" train --config "$out/train.json" --print-config > "$out/train-again.json"
cmp -s "$out/train.json" "$out/train-again.json" || fail "train's printed configuration does not read back as it is"
echo "options test passed"
