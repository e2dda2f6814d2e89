#!/usr/bin/env bash
# Assembles the npm package: wasm-pack's glue and .wasm, completed from pkg-template/
# with the crate's version. Usage: scripts/build/pkg.sh dev|release OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
profile=${1:?usage: scripts/build/pkg.sh dev|release OUT_DIR}
out=${2:?usage: scripts/build/pkg.sh dev|release OUT_DIR}
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

# The client's module, without the tokenizer: what every user loads.
wasm-pack --quiet build "--$profile" --target web --out-dir "$out" --no-pack
# A factory, so that a trapped instance can be replaced (pkg-template/runtime.js).
node scripts/build/glue-factory.mjs "$out/mistral_ratelimit.js"
rm "$out/mistral_ratelimit.d.ts"
# Exact counting is a second module and a vocabulary, both loaded on first use.
python3 scripts/build/tekken/pack.py
tekken_out="$PWD/target/pkg-tekken-$profile"
# Its release build is optimised for speed (Cargo.toml's `tekken` profile).
tekken_profile=$([ "$profile" = release ] && echo "--profile tekken" || echo "--dev")
wasm-pack --quiet build $tekken_profile --target web --out-dir "$tekken_out" --out-name mistral_ratelimit_tekken --no-pack -- --features tekken
cp "$tekken_out"/mistral_ratelimit_tekken.js "$tekken_out"/mistral_ratelimit_tekken_bg.wasm "$out/"
cp pkg-template/*.js pkg-template/package.json "$out/"
cp target/tekken/tekken.bin "$out/"
cp target/tekken/NOTICE "$out/NOTICE-tekken"
cp target/tekken/LICENSE-mistral-common.txt "$out/"
cp pkg-template/index.d.ts pkg-template/worker.d.ts "$out/"
cp LICENSE README.md "$out/"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
sed -i "s/\"version\": \"0.0.0\"/\"version\": \"$version\"/" "$out/package.json"
