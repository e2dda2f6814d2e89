// The harness itself: a server both npm clients reach, whose state a kill loses,
// and child runtimes (Node, and Deno with bare npm imports) that reach it too.
import { test } from "node:test";
import assert from "node:assert/strict";
import Redis from "ioredis";
import { createClient } from "redis";

import { startRedis, spawnDeno, spawnNode } from "./harness.mjs";

test("ioredis and node-redis share a server; kill() loses its state, restart() serves again", async () => {
  const server = await startRedis();
  // Reconnect every 50 ms, and fail a command after one retry, so the kill shows at once.
  const io = new Redis(server.port, "127.0.0.1", { retryStrategy: () => 50, maxRetriesPerRequest: 1 });
  const nr = createClient({ url: server.url, socket: { reconnectStrategy: () => 50 } });
  // Reconnection noise during the kill.
  io.on("error", () => {});
  nr.on("error", () => {});
  try {
    await nr.connect();
    await io.set("harness:key", "from ioredis");
    assert.equal(await nr.get("harness:key"), "from ioredis");

    await server.kill();
    await assert.rejects(io.get("harness:key"));

    await server.restart();
    assert.equal(await io.get("harness:key"), null);
    assert.equal(await nr.get("harness:key"), null);
  } finally {
    io.disconnect();
    await nr.disconnect().catch(() => {});
    await server.stop();
  }
});

test("Node and Deno children reach the server with bare npm imports", async () => {
  const server = await startRedis();
  const child = new URL("./incr-child.mjs", import.meta.url).pathname;
  const env = { REDIS_URL: server.url };
  try {
    assert.deepEqual(await spawnNode(child, [], env).lines, ["1"]);
    assert.deepEqual(await spawnDeno(child, [], env).lines, ["2"]);
  } finally {
    await server.stop();
  }
});
