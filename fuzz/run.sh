#!/usr/bin/env bash
# Runs every libFuzzer target for a fixed time each.
#
#   fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
#
# Each target starts from its committed seeds (fuzz/corpus/<target>) plus
# what earlier runs in BUILD_DIR found (BUILD_DIR/corpus/<target>, not
# committed). A crash, leak, sanitizer report or timeout stops that target;
# its reproducer is kept in BUILD_DIR/artifacts/ and the script exits 1
# after running the others. Reproduce one with:
#   BUILD_DIR/<target>_fuzz BUILD_DIR/artifacts/<target>-crash-...
set -uo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
build="${1:?usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]}"
secs="${2:?usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]}"
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(base64url token_verify jwk pem_key c_abi httpsig verify_paths)

mkdir -p "$build/artifacts"
failed=()
for t in "${targets[@]}"; do
  bin="$build/${t}_fuzz"
  [ -x "$bin" ] || { echo "fuzz: $bin not built" >&2; failed+=("$t"); continue; }
  work="$build/corpus/$t"
  mkdir -p "$work"
  log="$build/artifacts/$t.log"
  # -rss_limit_mb: a JSON or PEM bomb that allocates without bound is a bug
  # too. -timeout: one input taking 10 s is a hang.
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
    "$work" "$here/corpus/$t" > "$log" 2>&1
  rc=$?
  runs="$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')"
  cov="$(grep -oE 'cov: [0-9]+' "$log" | tail -1)"
  if [ $rc -eq 0 ]; then
    printf 'fuzz: %-13s ok   %ss  %s runs  %s  corpus %s files\n' "$t" "$secs" "${runs:-?}" "${cov:-?}" \
      "$(ls "$work" | wc -l)"
  else
    printf 'fuzz: %-13s FAIL (exit %d) — see %s\n' "$t" "$rc" "$log" >&2
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 >&2
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
