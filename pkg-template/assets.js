// How exact counting is loaded: its wasm module and the Tekken vocabulary, both
// separate assets. Each entry file sets the loader for its runtime. Internal: not
// re-exported by the entries.
let loader = () => Promise.reject(new Error("this entry point cannot load the tokenizer"));

export function setTekkenLoader(load) {
  loader = load;
}

/** Resolves with a `TokenCounter` from the tokenizer module. */
export function loadTekken() {
  return loader();
}
