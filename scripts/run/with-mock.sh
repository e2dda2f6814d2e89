#!/usr/bin/env bash
# Runs a command against a freshly started mock-mistral.
#
#   scripts/run/with-mock.sh [mock args...] -- COMMAND [ARGS...]
#
# Builds the mock (debug, which `cargo test` has already built; MOCK_PROFILE=release
# for benchmarks), starts it on 127.0.0.1 with a free port and the given
# mock args, waits for its "listening on" line, then runs COMMAND with
#   MISTRAL_MOCK_URL  the mock's base URL (http://127.0.0.1:PORT)
#   MISTRAL_MOCK_BIN  the mock binary, for tests that start a mock of their own
# in the environment. The mock is always stopped afterwards; the script exits with
# COMMAND's status. MOCK_START_TIMEOUT (seconds, default 30) bounds the wait.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
usage="usage: scripts/run/with-mock.sh [mock args...] -- COMMAND [ARGS...]"

# Everything before `--` goes to the mock, everything after is the command.
mock_args=()
while (($#)) && [[ $1 != "--" ]]; do
  mock_args+=("$1")
  shift
done
if (($# < 2)); then
  echo "$usage" >&2
  exit 2
fi
shift

profile="${MOCK_PROFILE:-debug}"
if [[ $profile == release ]]; then
  cargo build --release --quiet -p mock-mistral --manifest-path "$root/Cargo.toml"
else
  cargo build --quiet -p mock-mistral --manifest-path "$root/Cargo.toml"
fi
bin="$root/target/$profile/mock-mistral"

work="$(mktemp -d)"
mock_pid=""
stop_mock() {
  if [[ -n $mock_pid ]] && kill -0 "$mock_pid" 2>/dev/null; then
    kill "$mock_pid" 2>/dev/null || true
    wait "$mock_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop_mock EXIT

# Created here: the background mock opens them itself, possibly after the first poll.
: >"$work/stdout"
: >"$work/stderr"
"$bin" --host 127.0.0.1 --port 0 ${mock_args[@]+"${mock_args[@]}"} >"$work/stdout" 2>"$work/stderr" &
mock_pid=$!

# Poll for the one line the mock prints when it is ready.
deadline=$((SECONDS + ${MOCK_START_TIMEOUT:-30}))
url=""
while [[ -z $url ]]; do
  url="$(sed -n 's#^mock-mistral listening on \(http://127\.0\.0\.1:[0-9][0-9]*\)$#\1#p' "$work/stdout")"
  [[ -n $url ]] && break
  if ! kill -0 "$mock_pid" 2>/dev/null; then
    echo "with-mock: mock-mistral exited before it was ready:" >&2
    cat "$work/stderr" >&2
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    echo "with-mock: mock-mistral printed no 'listening on' line within ${MOCK_START_TIMEOUT:-30}s" >&2
    cat "$work/stdout" "$work/stderr" >&2
    exit 1
  fi
  sleep 0.05
done

export MISTRAL_MOCK_URL="$url"
export MISTRAL_MOCK_BIN="$bin"
status=0
"$@" || status=$?
exit "$status"
