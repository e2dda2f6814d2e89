// Where the Tekken vocabulary (tekken.bin) comes from: each entry file sets the
// loader for its runtime. Internal: not re-exported by the entries.
let loader = () => Promise.reject(new Error("this entry point cannot load tekken.bin"));

export function setTekkenLoader(load) {
  loader = load;
}

export function loadTekken() {
  return loader();
}
