#!/usr/bin/env bash
# Installs what the build and tests use, each step skipped when the machine has it.
# Usage: scripts/setup.sh STEP...   (steps: wasm, node, fuzz)
# Only the package registries are reachable here, so everything comes from crates.io
# and npm; see ../shared/toolchain.md for the traps this avoids.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

# The wasm-bindgen CLI must match the crate's pinned wasm-bindgen, or wasm-pack
# builds its own copy every time.
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)

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

for step in "$@"; do "$step"; done
