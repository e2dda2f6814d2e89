// Loaded before wasm-bindgen-test-runner's run.js (see ./deno): it writes
// `window.__wbg_test_invoke`, and Deno 2 removed `window`.
globalThis.window ??= globalThis;
