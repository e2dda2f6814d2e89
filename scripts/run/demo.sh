#!/usr/bin/env bash
# `make demo`: the demo page (www/) on http://127.0.0.1:DEMO_PORT (default 8787).
#
# Without MISTRAL_API_KEY the page's backend is the mock, with limits that make a
# storm interesting (DEMO_RPS requests/s, default 5; DEMO_TPM tokens/min, default
# 60000), and the terminal shows the page's storm: this client beside a naive one.
# With MISTRAL_API_KEY set, the proxy Worker (examples/worker) runs locally under
# wrangler in front of Mistral's API (DEMO_UPSTREAM overrides it) on DEMO_PORT+1,
# holding the key, and the page calls it: the key never reaches the page. Set
# DEMO_RPS and DEMO_TPM to your workspace's limits then (default 1 and 500000).
# Serves until Ctrl-C; stops what it started.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$root/node_modules/.bin:$PATH"
say() { printf '\033[1mdemo:\033[0m %s\n' "$*"; }

port=${DEMO_PORT:-8787}
if [[ -n ${MISTRAL_API_KEY:-} ]]; then
  rps=${DEMO_RPS:-1}
  tpm=${DEMO_TPM:-500000}
else
  rps=${DEMO_RPS:-5}
  tpm=${DEMO_TPM:-60000}
fi
origin="http://127.0.0.1:$port"

scripts/build/www.sh pkg target/www
cargo build --release --quiet -p mock-mistral

work="$(mktemp -d)"
pids=()
stop() {
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT TERM

# Starts COMMAND in its own process group, logging to $work/NAME.log.
start() {
  local name=$1
  shift
  setsid "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
}

# Waits until URL answers, or fails with the log of NAME.
await_up() {
  local name=$1 url=$2 deadline=$((SECONDS + 90))
  until curl -s -o /dev/null "$url"; do
    if ((SECONDS >= deadline)) || ! kill -0 "${pids[-1]}" 2>/dev/null; then
      say "$name did not start:"
      cat "$work/$name.log" >&2
      exit 1
    fi
    sleep 0.2
  done
}

# The mock serves the page either way; without a key it is also the backend.
# Each API key has budgets of its own (--limit-scope key): the page's storm
# ("page-has-no-key") and the terminal's (scripts/run/demo-storm.mjs) never share one,
# so a storm clicked while the terminal's runs shows the page's client alone.
start mock target/release/mock-mistral --host 127.0.0.1 --port "$port" --rps "$rps" --tpm "$tpm" \
  --limit-scope key --latency-ms 100-600 --stream-tokens-per-second 40 --www target/www
await_up mock "$origin/index.html"

if [[ -z ${MISTRAL_API_KEY:-} ]]; then
  page="$origin/?rps=$rps&tpm=$tpm"
  say "the page: $page (backend: the mock, $rps requests/s, $tpm tokens/min)"
  MISTRAL_PKG=pkg node scripts/run/demo-storm.mjs "$origin" "$rps" "$tpm"
else
  proxy="http://127.0.0.1:$((port + 1))"
  # The example as `npm install` leaves it, with the key in its local secrets file.
  # The proxy asks every call for its token, and the page sends the key it has,
  # "page-has-no-key"; on a proxy bound to 127.0.0.1 whose CORS lets in only the
  # page, that string may be the token.
  mkdir -p "$work/proxy/node_modules"
  cp -r examples/worker/. "$work/proxy/"
  ln -s "$root/pkg" "$work/proxy/node_modules/mistral-ratelimit"
  (umask 077 && printf 'MISTRAL_API_KEY=%s\nPROXY_TOKEN=page-has-no-key\n' "$MISTRAL_API_KEY" >"$work/proxy/.dev.vars")
  start proxy env WRANGLER_SEND_METRICS=false XDG_CONFIG_HOME="$work/proxy/.state" \
    wrangler dev --config "$work/proxy/wrangler.toml" --local --ip 127.0.0.1 --port "$((port + 1))" \
    --persist-to "$work/proxy/.state" --show-interactive-dev-session=false \
    --var "UPSTREAM_URL:${DEMO_UPSTREAM:-https://api.mistral.ai}" --var "ALLOWED_ORIGINS:$origin" \
    --var "REQUESTS_PER_SECOND:$rps" --var "TOKENS_PER_MINUTE:$tpm"
  await_up proxy "$proxy/budget"
  page="$origin/?server=$proxy&rps=$rps&tpm=$tpm"
  say "the page: $page (backend: the proxy Worker in front of ${DEMO_UPSTREAM:-https://api.mistral.ai}, $rps requests/s, $tpm tokens/min)"
fi
say "serving until Ctrl-C"
wait "${pids[0]}"
