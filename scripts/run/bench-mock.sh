#!/usr/bin/env bash
# How many tiny requests per second the mock serves with its limits off, measured
# with wrk from a second process on loopback, so we know it is never the
# bottleneck of a client test. Usage: scripts/run/bench-mock.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}

if ! command -v wrk >/dev/null; then
  echo "bench-mock: installing wrk"
  apt-get update -qq && apt-get install -y -qq wrk
fi

script=$(mktemp --suffix .lua)
trap 'rm -f "$script"' EXIT
cat >"$script" <<'LUA'
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer bench"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"mistral-small-latest","messages":[{"role":"user","content":"hi"}],"max_tokens":1}'
LUA
export seconds script
MOCK_PROFILE=release scripts/run/with-mock.sh --stream-tokens-per-second 1000000000 -- bash -c '
  echo "== GET /v1/models (a ~6 KB JSON list), 64 connections, ${seconds}s"
  wrk -t2 -c64 -d"${seconds}s" -H "Authorization: Bearer bench" "$MISTRAL_MOCK_URL/v1/models" | grep -E "Requests/sec|Latency|requests in"
  echo "== POST /v1/chat/completions, max_tokens 1, 64 connections, ${seconds}s"
  wrk -t2 -c64 -d"${seconds}s" -s "$script" "$MISTRAL_MOCK_URL/v1/chat/completions" | grep -E "Requests/sec|Latency|requests in|Non-2xx"
'
