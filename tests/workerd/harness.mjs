// Runs tests/workerd/worker.mjs in workerd (Miniflare, from npm) against the
// built package: the package's files are copied beside the worker, as a bundler
// would place them, and loaded with the rules wrangler applies.
import { cpSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";

const pkgDir = new URL(`../../${process.env.MISTRAL_PKG ?? "target/pkg-dev"}/`, import.meta.url).pathname;

/** A directory holding the worker and the package under ./pkg/. */
export function stage() {
  const dir = mkdtempSync(join(tmpdir(), "mistral-workerd-"));
  cpSync(new URL("./worker.mjs", import.meta.url).pathname, join(dir, "worker.mjs"));
  cpSync(pkgDir, join(dir, "pkg"), { recursive: true });
  return dir;
}

const kinds = { ".js": "ESModule", ".mjs": "ESModule", ".wasm": "CompiledWasm", ".bin": "Data" };

/** Every module a worker in `dir` may import, statically or not. */
function modules(dir) {
  const list = [{ type: "ESModule", path: join(dir, "worker.mjs") }];
  for (const name of readdirSync(join(dir, "pkg"))) {
    const type = kinds[name.slice(name.lastIndexOf("."))];
    if (type) list.push({ type, path: join(dir, "pkg", name) });
  }
  return list;
}

/**
 * Starts workerd with `workers` ({ name, bindings, budget }) on the staged `dir`.
 * `budget: true` binds MISTRAL_BUDGET to the budget object (MistralBudget, with a
 * restart for the tests) of the first such worker, so that separate isolates
 * share one.
 */
export async function workerd(dir, workers, { persist } = {}) {
  const owner = workers.find((w) => w.budget)?.name;
  const mf = new Miniflare({
    host: "127.0.0.1",
    durableObjectsPersist: persist ?? false,
    workers: workers.map(({ name, bindings, budget }) => ({
      name,
      modules: modules(dir),
      modulesRoot: dir,
      compatibilityDate: "2025-04-01",
      bindings,
      durableObjects: budget
        ? { MISTRAL_BUDGET: { className: "TestBudget", ...(name === owner ? {} : { scriptName: owner }) } }
        : undefined,
    })),
  });
  await mf.ready;
  return mf;
}
