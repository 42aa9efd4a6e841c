#!/usr/bin/env bash
# Runs every fuzz target in BUILD_DIR for SECONDS each, starting from its committed
# seed corpus (fuzz/corpus/<target>). New inputs go to a scratch copy, never into
# the repository. Exits non-zero on the first finding, with the crashing input kept.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/fuzz}
seconds=${2:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
for target in $(find "$build/fuzz" -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x | sort); do
  name=$(basename "$target")
  mkdir -p "$work/$name"
  seeds=fuzz/corpus/$name
  [[ -d "$seeds" ]] || { echo "fuzz: $name has no seed corpus in $seeds"; failed=$((failed + 1)); continue; }
  if "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
       -artifact_prefix="$work/$name-" "$work/$name" "$seeds" >"$work/$name.log" 2>&1; then
    echo "fuzz: $name clean ($(grep -o 'cov: [0-9]*' "$work/$name.log" | tail -1), ${seconds}s)"
    passed=$((passed + 1))
  else
    echo "fuzz: $name FAILED; last lines:"
    tail -40 "$work/$name.log"
    for crash in "$work/$name"-*; do
      [[ -e "$crash" ]] && { mkdir -p build/fuzz-findings; cp "$crash" build/fuzz-findings/; echo "fuzz: input kept in build/fuzz-findings/$(basename "$crash")"; }
    done
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
(( failed == 0 && passed > 0 ))
