#!/usr/bin/env bash
# How many tiny requests per second the mock serves with its limits off, measured
# with wrk from a second process on loopback, so we know it is never the
# bottleneck of a client test. Usage: scripts/bench-mock.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}

if ! command -v wrk >/dev/null; then
  echo "bench-mock: installing wrk"
  apt-get update -qq && apt-get install -y -qq wrk
fi
cargo build --quiet --release -p mock-mistral

out=$(mktemp)
target/release/mock-mistral --port 0 --stream-tokens-per-second 1000000000 >"$out" &
mock=$!
trap 'kill $mock 2>/dev/null; rm -f "$out" "$out.lua"' EXIT
for _ in $(seq 50); do grep -q 'listening on' "$out" && break; sleep 0.1; done
url=$(sed -n 's/.*listening on //p' "$out")
[ -n "$url" ] || { echo "bench-mock: the mock did not start" >&2; exit 1; }

cat >"$out.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer bench"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"mistral-small-latest","messages":[{"role":"user","content":"hi"}],"max_tokens":1}'
LUA
echo "== GET /v1/models (a ~6 KB JSON list), 64 connections, ${seconds}s"
wrk -t2 -c64 -d"${seconds}s" -H "Authorization: Bearer bench" "$url/v1/models" | grep -E 'Requests/sec|Latency|requests in'
echo "== POST /v1/chat/completions, max_tokens 1, 64 connections, ${seconds}s"
wrk -t2 -c64 -d"${seconds}s" -s "$out.lua" "$url/v1/chat/completions" | grep -E 'Requests/sec|Latency|requests in|Non-2xx'
