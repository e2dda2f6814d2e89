// Turns wasm-bindgen's glue (a module with one wasm instance in its module
// state) into a factory, so that the package can start a fresh instance after a
// trap: a trapped instance may hold half-done state and must never run again.
//
//   node scripts/build/glue-factory.mjs GLUE.js
//
// The result exports `instantiate(onTrap)`, which returns the glue's exports plus
// `init`, `initSync` and `module()`. Every call into the instance goes through one
// guard: the first trap marks the instance dead and reports it; later calls
// (timers, promise callbacks and finalizers that still point at it) do nothing.
// The glue is wasm-bindgen 0.2.130's (Cargo.toml pins it); each rewrite below
// must match exactly once, so a new glue fails here rather than at run time.
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

const path = process.argv[2];
let glue = readFileSync(path, "utf8");

function once(pattern, replacement) {
  const found = glue.split(pattern).length - 1;
  if (found !== 1) throw new Error(`${path}: expected "${pattern}" once, found it ${found} times`);
  glue = glue.replace(pattern, replacement);
}

function everywhere(pattern, replacement) {
  if (!glue.includes(pattern)) throw new Error(`${path}: "${pattern}" not found`);
  glue = glue.replaceAll(pattern, replacement);
}

const names = [];
glue = glue.replace(/^export (class|function) (\w+)/gm, (_, what, name) => {
  names.push(name);
  return `${what} ${name}`;
});
if (!names.includes("Client")) throw new Error(`${path}: no exported Client`);
// Its types describe the module it was; the package's own index.d.ts is the API.
once(`/* @ts-self-types="./${basename(path, ".js")}.d.ts" */\n`, "");
once("export { initSync, __wbg_init as default };\n", "");
// Debug builds also export the raw instance; nothing of ours uses it.
glue = glue.replace("export { wasm as __wasm }\n", "");
once("    wasm = instance.exports;\n", "    wasm = guarded(instance.exports);\n");
// Where the event loop enters the instance (closures run by timers, promises and
// listeners, and finalizers), a dead instance's refusal ends quietly.
once("            return f(a, state.b, ...args);", "            return quietly(() => f(a, state.b, ...args));");
glue = glue.replace(/new FinalizationRegistry\((\w+) => (.+)\);$/gm, (_, arg, body) => `new FinalizationRegistry(${arg} => quietly(() => ${body}));`);
once("            wasm.__wbindgen_destroy_closure(state.a, state.b);", "            quietly(() => wasm.__wbindgen_destroy_closure(state.a, state.b));");
// A dead instance's timers are cleared, so that they keep no process alive.
everywhere("setTimeout(arg0, arg1)", "timer(arg0, arg1)");
everywhere("clearTimeout(arg0)", "untimer(arg0)");

const guard = `
// Every export, guarded: see scripts/build/glue-factory.mjs. A trap, and every later
// call, throws TRAPPED, which the package turns into an InternalError.
let trapped = false;
const TRAPPED = new Error("this wasm instance trapped and was replaced");
function guarded(exports) {
    const out = {};
    for (const [name, value] of Object.entries(exports)) {
        out[name] = typeof value !== "function" ? value : (...args) => {
            if (trapped) throw TRAPPED;
            try {
                return value(...args);
            } catch (e) {
                if (!(e instanceof WebAssembly.RuntimeError)) throw e;
                trapped = true;
                for (const id of timers) clearTimeout(id);
                timers.clear();
                onTrap(e);
                throw TRAPPED;
            }
        };
    }
    return out;
}
const timers = new Set();
function timer(run, ms) {
    const id = setTimeout(() => {
        timers.delete(id);
        run();
    }, ms);
    timers.add(id);
    return id;
}
function untimer(id) {
    timers.delete(id);
    clearTimeout(id);
}
function quietly(enter) {
    try {
        return enter();
    } catch (e) {
        if (e !== TRAPPED) throw e;
    }
}
`;

writeFileSync(
  path,
  `export function instantiate(onTrap) {\n${guard}\n${glue}\nreturn { ${names.join(", ")}, init: __wbg_init, initSync, module: () => wasmModule };\n}\n`,
);
