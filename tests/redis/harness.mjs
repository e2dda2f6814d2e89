// Real Redis servers and child runtimes for the shared-budget tests: a
// redis-server of our own per test (Debian's, from `scripts/build/setup.sh redis`), never
// the system service on 6379, and Node or Deno processes that share it.
import { spawn } from "node:child_process";
import { createServer, connect } from "node:net";
import { createInterface } from "node:readline";

const root = new URL("../../", import.meta.url).pathname;
const denoBin = `${root}.tools/deno/node_modules/.bin/deno`;
const pingTimeoutMs = 5000;

// Every child still running, killed when this process ends so that no
// redis-server outlives the tests.
const running = new Set();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});
// A signal ends the process without 'exit': kill the children, then die of it.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    for (const child of running) child.kill("SIGKILL");
    process.kill(process.pid, signal);
  });
}

function track(child) {
  running.add(child);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  exited.then(() => running.delete(child));
  return exited;
}

/** A port nothing listens on now (the kernel's pick for port 0). */
async function freePort() {
  const probe = createServer();
  await new Promise((resolve, reject) => probe.once("error", reject).listen(0, "127.0.0.1", resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Whether a server on `port` answers PING, over a raw socket. */
function pongs(port) {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk;
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
  });
}

/** A redis-server on `port`, once it answers PING; `exited` settles when it ends. */
async function launch(port) {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"];
  const server = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  // Its log, shown only if it fails to start; the last few KB suffice.
  let log = "";
  const keep = (chunk) => (log = (log + chunk).slice(-4096));
  server.stdout.on("data", keep);
  server.stderr.on("data", keep);
  const spawned = new Promise((resolve, reject) => server.once("spawn", resolve).once("error", reject));
  const exited = track(server);
  try {
    await spawned;
  } catch (error) {
    throw new Error(`redis-server did not start (run scripts/build/setup.sh redis): ${error.message}`);
  }
  const deadline = Date.now() + pingTimeoutMs;
  while (!(await pongs(port))) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`redis-server on port ${port} exited before answering PING:\n${log}`);
    }
    if (Date.now() > deadline) {
      server.kill("SIGKILL");
      throw new Error(`redis-server on port ${port} did not answer PING within ${pingTimeoutMs} ms:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { server, exited };
}

async function end({ server, exited }, signal) {
  if (server.exitCode === null && server.signalCode === null) server.kill(signal);
  await exited;
}

/**
 * A fresh, empty redis-server on 127.0.0.1 (no persistence), answering PING.
 * stop() ends it with SIGTERM, kill() with SIGKILL (both wait for the exit);
 * restart() starts an empty one on the same port, killing a running one first.
 */
export async function startRedis() {
  const port = await freePort();
  let current = await launch(port);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () => end(current, "SIGTERM"),
    kill: () => end(current, "SIGKILL"),
    async restart() {
      await end(current, "SIGKILL");
      current = await launch(port);
    },
  };
}

/** Runs `command args` from the repo root, its stdout collected as lines. */
function run(command, args, env) {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  track(child);
  const collected = [];
  const waiting = []; // [text, resolve]: waitFor's callers
  createInterface({ input: child.stdout }).on("line", (line) => {
    collected.push(line);
    for (const [text, resolve] of waiting) if (line === text) resolve();
  });
  // 'close' comes after the exit and the last of stdout.
  const lines = new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", () => resolve(collected));
  });
  const waitFor = (text) =>
    collected.includes(text)
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
          waiting.push([text, resolve]);
          lines.then(() => reject(new Error(`the child ended without printing "${text}"`)), reject);
        });
  return { child, lines, waitFor, kill: (signal = "SIGTERM") => child.kill(signal) };
}

/** `node file args`: { child, lines (all of stdout, on exit), waitFor(line), kill(signal) }. */
export function spawnNode(file, args = [], env = {}) {
  return run(process.execPath, [file, ...args], env);
}

/**
 * `deno run file args` with the Deno of `scripts/build/setup.sh deno`, and the same
 * result as spawnNode. Bare imports ("ioredis") resolve offline through the
 * nearest package.json above `file` and the repo's node_modules
 * (--node-modules-dir=manual: use it as it is, never install), so `file` must
 * live in the repo and import only packages package.json lists.
 */
export function spawnDeno(file, args = [], env = {}) {
  const denoArgs = ["run", "--allow-all", "--node-modules-dir=manual", file, ...args];
  return run(denoBin, denoArgs, { DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1", ...env });
}
