#!/usr/bin/env bash
# Runs the fuzz targets (crates/recorder/tests/fuzz.rs: server messages, spool
# files, the system configuration, access tokens) with fresh random seeds,
# round after round, until MINUTES have passed.
#   bash scripts/fuzz.sh 30     # half an hour
#   bash scripts/fuzz.sh 1      # what CI runs
# A failure stops the run; proptest shrinks it and keeps the case in
# crates/recorder/tests/fuzz.proptest-regressions, replayed first ever after.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-5}"
cases="${FUZZ_CASES:-2000}"
cargo test --locked -p consult-recorder --test fuzz --no-run 2>&1 | tail -n 1
deadline=$(($(date +%s) + minutes * 60))
rounds=0
while [ "$(date +%s)" -lt "$deadline" ]; do
  if ! out=$(PROPTEST_CASES="$cases" cargo test --locked -p consult-recorder --test fuzz 2>&1); then
    echo "$out" | tail -n 60
    exit 1
  fi
  echo "$out" | grep -E '^test result:'
  rounds=$((rounds + 1))
done
echo "fuzz: $rounds rounds of $cases cases for each of 5 targets in $minutes min; no failure"
