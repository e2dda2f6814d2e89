#!/usr/bin/env bash
# Installs what the build and tests use, each step skipped when the machine has it.
# Usage: scripts/build/setup.sh STEP...   (steps: wasm, node, fuzz, browsers, redis, deno, consumer)
# Only the package registries are reachable here, so everything comes from crates.io
# and npm; see ../shared/toolchain.md for the traps this avoids.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

# The wasm-bindgen CLI must match the crate's pinned wasm-bindgen, or wasm-pack
# builds its own copy every time.
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)
# Deno for the wasm tests, from npm, into the git-ignored .tools/ (package.json is
# the project's tool list, not this).
DENO_VERSION=2.9.6

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

wasm() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if ! command -v wasm-pack >/dev/null; then
    say "installing wasm-pack (about 5 minutes, once)"
    cargo install wasm-pack --locked
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$WASM_BINDGEN_VERSION" ]; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 4 minutes, once)"
    # Not --locked: its lockfile pins a crate version the registry no longer serves.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  fi
}

node() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    say "installing npm packages"
    npm ci --no-audit --no-fund
    touch node_modules
  fi
}

fuzz() {
  if ! command -v cargo-fuzz >/dev/null; then
    say "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
  fi
}

# apt needs root; use sudo when not root.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Headless Chromium and Firefox with their WebDriver servers, for the wasm tests in
# browsers. Debian's packages; geckodriver from crates.io (npm's downloads from GitHub).
browsers() {
  local pkgs=()
  command -v chromium >/dev/null || pkgs+=(chromium)
  command -v chromedriver >/dev/null || pkgs+=(chromium-driver)
  command -v firefox-esr >/dev/null || pkgs+=(firefox-esr)
  if [ ${#pkgs[@]} -gt 0 ]; then
    say "installing ${pkgs[*]} from Debian (about 2 minutes, once)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}"
  fi
  if ! command -v geckodriver >/dev/null; then
    say "installing geckodriver (about 2 minutes, once)"
    cargo install geckodriver --locked
  fi
}

# Redis for the shared-budget tests, from Debian. The package may start a system
# service on 6379; the tests start their own servers on free ports instead.
redis() {
  if ! command -v redis-server >/dev/null; then
    say "installing redis-server from Debian (about 30 seconds, once)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server
  fi
}

# Deno, run by wasm-bindgen-test-runner through scripts/run/deno-shim/deno.
deno() {
  local bin=.tools/deno/node_modules/.bin/deno
  if [ "$("$bin" --version 2>/dev/null | sed -n 's/^deno \([^ ]*\).*/\1/p')" != "$DENO_VERSION" ]; then
    say "installing deno $DENO_VERSION into .tools/deno"
    mkdir -p .tools/deno
    npm install --prefix .tools/deno --no-audit --no-fund --no-save --silent "deno@$DENO_VERSION"
  fi
}

# The build tools a user of the package has (TypeScript, Vite, webpack, wrangler),
# pinned by tests/consumer/tools/package-lock.json, into .tools/consumer for the
# consumer tests; installed again only when that lockfile changes.
consumer() {
  local dir=.tools/consumer
  if [ ! -d "$dir/node_modules" ] || ! cmp -s tests/consumer/tools/package-lock.json "$dir/package-lock.json"; then
    say "installing the consumer tests' tools into $dir (about 20 seconds, once)"
    mkdir -p "$dir"
    cp tests/consumer/tools/package.json tests/consumer/tools/package-lock.json "$dir/"
    npm ci --prefix "$dir" --no-audit --no-fund
  fi
}

for step in "$@"; do "$step"; done
