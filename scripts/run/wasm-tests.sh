#!/usr/bin/env bash
# Runs the crate's wasm tests (tests/web.rs) for real in Node, headless Chromium,
# headless Firefox and Deno, against one mock-mistral on 127.0.0.1.
#
#   scripts/run/wasm-tests.sh [node|chrome|firefox|deno|all]...   (default: all)
#
# Installs what the named environments need (scripts/build/setup.sh), starts the mock
# through scripts/run/with-mock.sh, builds the tests once with MISTRAL_MOCK_URL set (the
# tests read it at compile time), then runs them with wasm-bindgen-test-runner in
# each environment. Fails if any environment fails or runs no tests; prints the
# count and time per environment. WASM_TESTS_SETUP=0 skips the installs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
target=wasm32-unknown-unknown

# --- Outside the mock: check the arguments, install, start the mock. ---
if [[ ${1-} != --inside-mock ]]; then
  envs=()
  for arg in "${@:-all}"; do
    case $arg in
      all) envs+=(node chrome firefox deno) ;;
      node | chrome | firefox | deno) envs+=("$arg") ;;
      *)
        echo "usage: scripts/run/wasm-tests.sh [node|chrome|firefox|deno|all]..." >&2
        exit 2
        ;;
    esac
  done
  if [[ ${WASM_TESTS_SETUP:-1} != 0 ]]; then
    steps=(wasm)
    [[ " ${envs[*]} " == *" chrome "* || " ${envs[*]} " == *" firefox "* ]] && steps+=(browsers)
    [[ " ${envs[*]} " == *" deno "* ]] && steps+=(deno)
    scripts/build/setup.sh "${steps[@]}"
  fi
  exec scripts/run/with-mock.sh --stream-tokens-per-second 5000 -- "$root/scripts/run/wasm-tests.sh" --inside-mock "${envs[@]}"
fi
shift

# --- Inside the mock: MISTRAL_MOCK_URL is set. ---
say() { printf '\033[1mwasm-tests:\033[0m %s\n' "$*"; }
export MISTRAL_MOCK_URL
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
# Browser capabilities (extra Chromium flags, Firefox prefs), wherever cargo runs.
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$root/webdriver.json"
# Not `cargo test --quiet`: cargo hands --quiet on to the runner, which refuses it.
cargo_test=(cargo test --target "$target" --test web)

say "building the wasm tests against $MISTRAL_MOCK_URL"
"${cargo_test[@]}" --no-run --quiet

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
summary=()
failed=0
for env in "$@"; do
  vars=()
  case $env in
    node) ;;
    chrome)
      vars=(WASM_BINDGEN_USE_BROWSER=1 "CHROMEDRIVER=$(command -v chromedriver)")
      ;;
    firefox)
      firefox="$(command -v firefox-esr || command -v firefox)"
      vars=(WASM_BINDGEN_USE_BROWSER=1 "GECKODRIVER=$(command -v geckodriver)" "GECKODRIVER_ARGS=--binary $firefox")
      ;;
    deno)
      # A `deno` that preloads a `window` alias and allows fetches to 127.0.0.1.
      vars=(WASM_BINDGEN_USE_DENO=1 "PATH=$root/scripts/run/deno-shim:$PATH")
      ;;
  esac
  say "running in $env"
  start=$SECONDS
  status=0
  env "${vars[@]}" "${cargo_test[@]}" 2>&1 | tee "$logs/$env" || status=$?
  took=$((SECONDS - start))
  passed="$(sed -n 's/^test result: ok\. \([0-9][0-9]*\) passed.*/\1/p' "$logs/$env" | tail -1)"
  if ((status != 0)); then
    summary+=("$env: FAILED (exit $status) in ${took}s")
    failed=1
  elif [[ -z $passed || $passed == 0 ]]; then
    summary+=("$env: FAILED: no tests ran (${took}s)")
    failed=1
  else
    summary+=("$env: $passed passed in ${took}s")
  fi
done

say "summary"
printf '  %s\n' "${summary[@]}"
exit "$failed"
