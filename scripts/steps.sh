# Step runner shared by scripts/test.sh and scripts/test-aarch64.sh (sourced, not run).
# `run_step NAME CMD...` runs CMD with its output shown and kept; a step whose output holds
# cargo's `test result:` lines adds their passed and failed counts (and a nested script's
# `step result:` lines, one each); any other step counts as one, passed on exit 0, and prints
# its own `step result:` line. A test step that exits non-zero without a failed test (a build
# error, a test binary killed by a signal) counts one more failure. `summary` prints the totals
# as the last line, `N passed, N failed`, and returns non-zero when anything failed. Each step's
# wall time goes to stderr as a `step time:` line. Before that line, `summary` repeats the last
# lines of every failed step: a CI log is often read from its end, and a failed set-up (a
# registry that did not answer, a full disk) should not have to be found thousands of lines up.

passed=0
failed=0
recap=""
recap_lines=${MOAE_RECAP_LINES:-25}

# Prints "LINES PASSED FAILED" summed over the result lines of an output file.
count_results() {
  awk '/^test result: / {
         for (i = 2; i <= NF; i++) {
           if ($i == "passed;") p += $(i - 1)
           if ($i == "failed;") f += $(i - 1)
         }
         n++
       }
       /^step result: ok / { p++; n++ }
       /^step result: FAILED / { f++; n++ }
       END { print n + 0, p + 0, f + 0 }' "$1"
}

run_step() {
  local name=$1
  shift
  printf '\n==> %s\n' "$name" >&2
  local out rc lines p f t0=$SECONDS
  out=$(mktemp)
  "$@" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  # Where the test command's minutes go (read by people; the counts below ignore it).
  printf 'step time: %4d s  %s\n' $((SECONDS - t0)) "$name" >&2
  read -r lines p f < <(count_results "$out")
  if [[ $rc -ne 0 || $f -ne 0 ]]; then
    [[ -n "$recap" ]] || recap=$(mktemp)
    {
      printf -- '--- %s (exit %s), its last %s lines:\n' "$name" "$rc" "$recap_lines"
      # Indented: the counts above read only lines that start with `test result:` or
      # `step result:`, and the aarch64 step's recap is read again inside scripts/test.sh's.
      tail -n "$recap_lines" "$out" | sed 's/^/  | /'
    } >>"$recap"
  fi
  rm -f "$out"
  if [[ $lines -eq 0 ]]; then
    if [[ $rc -eq 0 ]]; then
      passed=$((passed + 1))
      printf 'step result: ok %s\n' "$name"
    else
      failed=$((failed + 1))
      printf 'step result: FAILED %s\n' "$name"
    fi
  else
    passed=$((passed + p))
    failed=$((failed + f))
    if [[ $rc -ne 0 && $f -eq 0 ]]; then failed=$((failed + 1)); fi
  fi
  if [[ $rc -ne 0 ]]; then printf '==> FAILED (exit %s): %s\n' "$rc" "$name" >&2; fi
  return 0
}

summary() {
  if [[ -n "$recap" && -s "$recap" ]]; then
    printf '\n==> failed steps, again:\n'
    cat "$recap"
    # A full disk fails set-up, builds and tests alike, each in its own words.
    printf -- '--- free disk where this runs: %s\n' "$(df -Ph . | awk 'NR == 2 { print $4 " of " $2 " on " $6 }')"
  fi
  [[ -z "$recap" ]] || rm -f "$recap"
  printf '%s passed, %s failed\n' "$passed" "$failed"
  [[ $failed -eq 0 ]]
}

# Clippy lints while the code is built: clippy-driver compiles the workspace's own crates
# (dependencies still go to plain rustc, as with `cargo clippy`) and fails on any warning. Each
# crate is then compiled once instead of checked by `cargo clippy` and built again by `cargo
# build`. CLIPPY_ARGS is how cargo-clippy hands its `-- ARGS` to clippy-driver;
# scripts/clippy-canary.sh shows that a lint still fails the build. The later cargo commands
# must see the same two variables, or cargo would rebuild the workspace without them.
lint_while_building() {
  local driver
  driver=$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver) || {
    printf 'clippy-driver not found: run `rustup component add clippy`\n' >&2
    return 1
  }
  export RUSTC_WORKSPACE_WRAPPER="$driver"
  export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
}
