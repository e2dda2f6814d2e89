#!/usr/bin/env bash
# Runs the hostile-server suite (tests/hostile/) in Node, Deno and headless
# Chromium against a built package.
#
#   tests/hostile/run.sh [node|deno|chrome|all]...    (default: all)
#
# MISTRAL_PKG names the package directory, relative to the repository (default
# target/pkg-dev; build one with `scripts/build/pkg.sh dev target/pkg-hostile`). Installs
# only through scripts/build/setup.sh (node; deno; browsers), HOSTILE_SETUP=0 skips that.
# Each runtime starts the servers it needs on 127.0.0.1 and stops them; each is cut
# off after HOSTILE_RUNTIME_TIMEOUT seconds (default 240). Exits 1 if any fails.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
usage="usage: tests/hostile/run.sh [node|deno|chrome|all]..."

runtimes=()
for arg in "${@:-all}"; do
  case $arg in
    all) runtimes+=(node deno chrome) ;;
    node | deno | chrome) runtimes+=("$arg") ;;
    *)
      echo "$usage" >&2
      exit 2
      ;;
  esac
done

export MISTRAL_PKG="${MISTRAL_PKG:-target/pkg-dev}"
for entry in node.js index.js mistral_ratelimit_bg.wasm; do
  if [[ ! -f $MISTRAL_PKG/$entry ]]; then
    echo "hostile: no package at $MISTRAL_PKG ($entry is missing); build one with: scripts/build/pkg.sh dev $MISTRAL_PKG" >&2
    exit 2
  fi
done

if [[ ${HOSTILE_SETUP:-1} != 0 ]]; then
  steps=(node)
  [[ " ${runtimes[*]} " == *" deno "* ]] && steps+=(deno)
  [[ " ${runtimes[*]} " == *" chrome "* ]] && steps+=(browsers)
  scripts/build/setup.sh "${steps[@]}"
fi

say() { printf '\033[1mhostile:\033[0m %s\n' "$*"; }
limit="${HOSTILE_RUNTIME_TIMEOUT:-240}"
cutoff=(timeout --kill-after=10 "$limit")

# Deno talks to a hostile server run by Node, the same code as the other runtimes'.
server_pid=""
work="$(mktemp -d)"
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

run_deno() {
  : >"$work/server.out" # before the first poll: the server opens it itself, maybe later
  node tests/hostile/server.mjs >"$work/server.out" 2>&1 &
  server_pid=$!
  local url="" deadline=$((SECONDS + 10))
  while [[ -z $url ]]; do
    url="$(sed -n 's#^hostile listening on \(http://127\.0\.0\.1:[0-9][0-9]*\)$#\1#p' "$work/server.out")"
    [[ -n $url ]] && break
    if ! kill -0 "$server_pid" 2>/dev/null || ((SECONDS >= deadline)); then
      echo "hostile: the server did not start:" >&2
      cat "$work/server.out" >&2
      return 1
    fi
    sleep 0.05
  done
  local status=0
  HOSTILE_URL="$url" "${cutoff[@]}" .tools/deno/node_modules/.bin/deno run --allow-net --allow-read --allow-env \
    tests/hostile/deno.mjs || status=$?
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  return "$status"
}

summary=()
failed=0
for runtime in "${runtimes[@]}"; do
  say "$runtime, against $MISTRAL_PKG"
  start=$SECONDS
  status=0
  case $runtime in
    node) "${cutoff[@]}" node --test --test-reporter=spec tests/hostile/node.test.mjs || status=$? ;;
    deno) run_deno || status=$? ;;
    chrome) "${cutoff[@]}" node tests/hostile/browser.mjs || status=$? ;;
  esac
  took=$((SECONDS - start))
  if ((status == 0)); then
    summary+=("$runtime: passed in ${took}s")
  elif ((status == 124 || status == 137)); then
    summary+=("$runtime: FAILED: cut off after ${limit}s")
    failed=1
  else
    summary+=("$runtime: FAILED (exit $status) in ${took}s")
    failed=1
  fi
done

say "summary"
printf '  %s\n' "${summary[@]}"
exit "$failed"
