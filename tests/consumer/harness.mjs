// The consumer tests' workshop: the package packed as npm would publish it, and
// fresh projects (fixtures/) that install the tarball, in a temporary directory
// outside the repository, so that nothing of the repository's node_modules is in
// reach. The build tools a user would have (tools/package.json, pinned; installed
// by `scripts/build/setup.sh consumer` into .tools/consumer) are linked in as the
// workshop's node_modules: every project finds them as a monorepo's hoisted tools.
import { spawn } from "node:child_process";
import { cp, mkdtemp, readdir, rename, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const repo = new URL("../../", import.meta.url).pathname;
const fixtures = new URL("fixtures/", import.meta.url).pathname;
const pkgDir = join(repo, process.env.MISTRAL_PKG ?? "target/pkg-dev");
const tools = join(repo, ".tools/consumer/node_modules");

/** A tool's command: `tool("vite")`. */
export const tool = (name) => join(tools, ".bin", name);
export const deno = join(repo, ".tools/deno/node_modules/.bin/deno");

/**
 * Runs `command` and resolves with `{ code, stdout, stderr }` whatever its exit
 * (tests assert on it); `timeoutMs` kills it.
 */
export function run(command, args, { cwd, env = {}, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal ? `killed by ${signal}` : code, stdout, stderr });
    });
  });
}

/** Fails with what the command printed unless it exited 0. */
export function succeeded(assert, result, what) {
  assert.equal(result.code, 0, `${what} failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  return result;
}

/**
 * A workshop: a temporary directory holding the packed package as
 * `mistral-ratelimit.tgz` (the fixtures depend on `file:../mistral-ratelimit.tgz`)
 * and the tools. `project(name)` copies a fixture beside it and installs it, once.
 */
export async function workshop() {
  const root = await mkdtemp(join(tmpdir(), "mistral-ratelimit-consumer-"));
  await symlink(tools, join(root, "node_modules"));
  const packed = await run("npm", ["pack", pkgDir, "--pack-destination", root, "--json"], { cwd: root });
  if (packed.code !== 0) throw new Error(`npm pack ${pkgDir} failed:\n${packed.stderr}`);
  const tarball = join(root, "mistral-ratelimit.tgz");
  await rename(join(root, JSON.parse(packed.stdout)[0].filename), tarball);
  const installs = new Map();
  return {
    root,
    tarball,
    /** The fixture `name` (plus `extra` fixture files) installed in the workshop: its path. */
    project(name, extra = []) {
      if (!installs.has(name)) installs.set(name, install(root, name, extra));
      return installs.get(name);
    },
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

async function install(root, name, extra) {
  const dir = join(root, name);
  await cp(join(fixtures, name), dir, { recursive: true });
  for (const file of extra) await cp(join(fixtures, file), join(dir, file.slice(file.lastIndexOf("/") + 1)));
  // From npm's cache when it has the package: the tarball is the only dependency.
  const npm = await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: dir });
  if (npm.code !== 0) throw new Error(`npm install in ${name} failed:\n${npm.stderr}`);
  return dir;
}

/** Every file under `dir`, as paths relative to it. */
export async function files(dir) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name).slice(dir.length + 1));
}

/**
 * A mock of its own (`scripts/run/with-mock.sh` exports MISTRAL_MOCK_BIN) serving the
 * static files of `www` beside the API, so that a page calls its own origin.
 */
export async function mockServing(www) {
  const bin = process.env.MISTRAL_MOCK_BIN;
  if (!bin) throw new Error("MISTRAL_MOCK_BIN is not set: run through scripts/run/with-mock.sh");
  const child = spawn(bin, ["--host", "127.0.0.1", "--port", "0", "--www", www], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      const m = line.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`mock exited with ${code}`)));
  });
  return { url, stop: () => child.kill() };
}
