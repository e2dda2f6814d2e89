# The two commands: `make demo` and `make test`. Both install what they use.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
export PATH := $(HOME)/.cargo/bin:$(CURDIR)/node_modules/.bin:$(PATH)

PKG_DEV := target/pkg-dev
SIM_ARGS ?=
FUZZ_SECONDS ?= 60

.PHONY: test lint test-native test-pkg test-workerd test-redis test-www test-hostile test-types test-web test-sdk test-soak test-consumer soak tekken-asset tekken-expectations demo simulate bench size mock pkg fuzz

## Every suite: formatting and lints, native tests (unit, property, doc, bench
## smoke runs, the mock's HTTP tests), the built package in Node and workerd against the mock,
## its TypeScript types, the wasm tests in Node, Chromium, Firefox and Deno, and the official TypeScript
## SDK driven through every endpoint of the mock.
test: lint test-native tekken-expectations test-pkg test-workerd test-redis test-www test-hostile test-types test-web test-sdk test-soak test-consumer

lint:
	scripts/build/setup.sh wasm
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p mistral-ratelimit --all-targets --features openai -- -D warnings
	cargo clippy --target wasm32-unknown-unknown --lib --test web --features tekken -- -D warnings

test-native: tekken-asset
	cargo test --workspace --all-targets
	cargo test -p mistral-ratelimit --features openai --lib --test tekken --test tekken_differential --test tekken_classes --test sentencepiece --test openai
	cargo test --workspace --doc
	cargo test -p mistral-ratelimit --features tekken --doc

## Mistral's Tekken vocabulary, packed from mistral-common's wheel (pip, sha256-checked).
tekken-asset:
	python3 scripts/build/tekken/pack.py

## The Tekken corpus counts and the SentencePiece ratios, regenerated with
## mistral-common from PyPI: they must equal the committed ones.
tekken-expectations:
	python3 scripts/build/tekken/expectations.py
	python3 scripts/build/tekken/sentencepiece.py
	git diff --exit-code tests/tekken/

test-pkg:
	scripts/build/setup.sh wasm node
	scripts/build/pkg.sh dev $(PKG_DEV)
	MISTRAL_PKG=$(PKG_DEV) scripts/run/with-mock.sh --rps 1000 --tpm 100000000 --stream-tokens-per-second 5000 -- \
	  node --test tests/client/

## The package in workerd (Miniflare, from npm): a client at module scope serving
## overlapping requests, and separate Workers sharing one budget (MistralBudget).
## One file at a time: they measure time.
test-workerd:
	scripts/build/setup.sh wasm node
	scripts/build/pkg.sh dev $(PKG_DEV)
	MISTRAL_PKG=$(PKG_DEV) scripts/run/with-mock.sh --rps 1000 -- node --test --test-concurrency=1 tests/workerd/

## The package against a real Redis (a redis-server of its own per test, from
## Debian), from Node and Deno processes sharing it.
## One file at a time: they measure time.
test-redis:
	scripts/build/setup.sh wasm node redis deno
	scripts/build/pkg.sh dev $(PKG_DEV)
	MISTRAL_PKG=$(PKG_DEV) scripts/run/with-mock.sh --rps 1000 -- node --test --test-concurrency=1 tests/redis/

## The demo page (www/) in headless Chromium and Firefox through WebDriver, served
## by the mock: chat, stop, a storm beside the naive client, and tabs sharing one
## budget (budget: { tabs }), also when the leader's tab closes. Screenshots go to
## target/www-screenshots/. One file at a time: they measure time.
test-www:
	scripts/build/setup.sh wasm node browsers
	scripts/build/pkg.sh dev $(PKG_DEV)
	scripts/build/www.sh $(PKG_DEV) target/www-dev
	MISTRAL_PKG=$(PKG_DEV) WWW_DIR=target/www-dev scripts/run/with-mock.sh -- node --test --test-concurrency=1 tests/www/

## A scripted hostile server (absurd limits, windows, timings, bodies, Retry-After)
## against the built package in Node, Deno and headless Chromium.
test-hostile:
	scripts/build/setup.sh wasm
	scripts/build/pkg.sh dev $(PKG_DEV)
	MISTRAL_PKG=$(PKG_DEV) tests/hostile/run.sh all

## The package's TypeScript declarations under tsc --strict, misuse included, and
## every TypeScript snippet of the README and docs/ compiled against them.
test-types:
	scripts/build/setup.sh node
	tsc -p tests/types
	node tests/types/snippets.mjs

test-web:
	scripts/run/wasm-tests.sh all

## Nothing hangs: the soak briefly (make soak runs it long), 5,000 mixed calls in
## Node; and the deadline and abort tests, which run in Node with the client's, in Deno.
test-soak:
	scripts/build/setup.sh wasm node deno
	scripts/build/pkg.sh dev $(PKG_DEV)
	MISTRAL_PKG=$(PKG_DEV) scripts/run/with-mock.sh --stream-tokens-per-second 100000 -- node --expose-gc tests/soak/run.mjs 5000 50
	MISTRAL_PKG=$(PKG_DEV) scripts/run/with-mock.sh -- .tools/deno/node_modules/.bin/deno test --allow-all --node-modules-dir=manual \
	  tests/client/deadlines.test.mjs tests/client/aborts.test.mjs

## The package as a new user meets it: the packed tarball installed into fresh
## projects outside the repository, with pinned tools (scripts/build/setup.sh consumer):
## Node import and require, tsc --strict (nodenext, bundler), Deno, Vite and
## webpack production builds run in headless Chromium, and a Worker bundled by
## wrangler deploy --dry-run (its gzip size printed) run in workerd; each calls the mock.
test-consumer:
	scripts/build/setup.sh wasm node deno browsers consumer
	scripts/build/pkg.sh dev $(PKG_DEV)
	MISTRAL_PKG=$(PKG_DEV) scripts/run/with-mock.sh -- node --test tests/consumer/

## The soak: 100,000 mixed calls (plain, streamed, streams aborted at any event or
## left with break, calls aborted at any moment) with 5xx, resets and 429s injected,
## 50 and 500 at a time in Node, and 20,000 in Deno and in headless Chromium. Every
## call ends, nothing stays held, the books hold no less than the mock charged, and
## the heap stays flat.
SOAK = MISTRAL_PKG=pkg MOCK_PROFILE=release scripts/run/with-mock.sh --stream-tokens-per-second 100000
soak: pkg
	scripts/build/setup.sh deno browsers
	scripts/build/www.sh pkg target/www
	$(SOAK) -- node --expose-gc tests/soak/run.mjs 100000 50
	$(SOAK) -- node --expose-gc tests/soak/run.mjs 100000 500
	$(SOAK) -- .tools/deno/node_modules/.bin/deno run --allow-all --v8-flags=--expose-gc tests/soak/run.mjs 20000 50
	$(SOAK) --www target/www -- node tests/soak/chromium.mjs 20000 50

test-sdk:
	scripts/build/setup.sh node
	scripts/run/with-mock.sh --stream-tokens-per-second 5000 -- node --test tests/sdk-fidelity/

## The simulator: the client's own call machine on a virtual clock, against a
## server with limits of its own (no API key, no network).
## Options: make simulate SIM_ARGS="--help"
simulate:
	cargo run --quiet --release -p mock-mistral --example simulate -- $(SIM_ARGS)

## The demo page (www/) on http://127.0.0.1:8787 against the mock, and the same
## storm in the terminal: this client beside a naive one. With MISTRAL_API_KEY set,
## against Mistral's API through the proxy Worker (examples/worker) run locally.
## Options (DEMO_PORT, DEMO_RPS, DEMO_TPM, DEMO_UPSTREAM): see scripts/run/demo.sh.
demo: pkg
	scripts/run/demo.sh

## Criterion benchmarks (limiter operations, SSE decoding), the mock's throughput
## under wrk, the time the client adds to a call and its size, the budget
## table (this client, the SDK and a p-queue pacer on three kinds of server), a
## first storm from a cold start (the demo's mock, latency without timing headers,
## a limit twice too high), and
## Tekken counting in wasm beside js-tiktoken and gpt-tokenizer.
bench: pkg
	cargo bench -p mistral-ratelimit --bench limiter --bench sse
	scripts/run/bench-mock.sh 10
	MISTRAL_PKG=pkg MOCK_PROFILE=release scripts/run/with-mock.sh -- node benches/client.mjs
	MISTRAL_PKG=pkg MOCK_PROFILE=release scripts/run/with-mock.sh -- node benches/budget.mjs
	MISTRAL_PKG=pkg MOCK_PROFILE=release scripts/run/with-mock.sh -- node benches/cold-start.mjs
	MISTRAL_PKG=pkg MOCK_PROFILE=release scripts/run/with-mock.sh -- node benches/shared-budget.mjs
	MISTRAL_PKG=pkg MOCK_PROFILE=release scripts/run/with-mock.sh -- node benches/learned-limits.mjs
	MISTRAL_PKG=pkg MOCK_PROFILE=release scripts/run/with-mock.sh -- node benches/in-flight.mjs
	scripts/build/setup.sh redis
	MISTRAL_PKG=pkg MOCK_PROFILE=release scripts/run/with-mock.sh -- node benches/redis-budget.mjs
	MISTRAL_PKG=pkg node benches/tokens.mjs

## Where the release modules' bytes go: each shipped .wasm raw and gzip, then the
## client's and the tokenizer's code by crate and their largest functions (read
## from the modules cargo links, which still have their names).
size: pkg
	@for f in pkg/*.wasm; do echo "$$f: $$(( $$(wc -c < $$f) / 1024 )) KiB raw, $$(( $$(gzip -9c $$f | wc -c) / 1024 )) KiB gzip"; done
	python3 scripts/run/size.py target/wasm32-unknown-unknown/release/mistral_ratelimit.wasm
	python3 scripts/run/size.py target/wasm32-unknown-unknown/tekken/mistral_ratelimit.wasm 15

## The mock Mistral server on http://127.0.0.1:8787 (MOCK_ARGS for its options).
MOCK_ARGS ?= --rps 5 --tpm 500000
mock:
	cargo run --quiet --release -p mock-mistral -- $(MOCK_ARGS)

## The npm package, optimised, into pkg/.
pkg:
	scripts/build/setup.sh wasm node
	scripts/build/pkg.sh release pkg

## Fuzz each target for FUZZ_SECONDS: the SSE decoder, rate-limit headers applied
## to a limiter, client options, conversation ids (cargo-fuzz needs nightly
## features; RUSTC_BOOTSTRAP lets the stable toolchain provide them).
FUZZ_TARGETS ?= sse_decoder headers options ids
fuzz:
	scripts/build/setup.sh fuzz
	cd fuzz && for t in $(FUZZ_TARGETS); do RUSTC_BOOTSTRAP=1 cargo fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; done
