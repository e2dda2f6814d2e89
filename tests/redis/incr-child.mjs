// A child for harness.test.mjs, run by Node and by Deno: INCRs a key on
// REDIS_URL through a bare npm import and prints the count.
import Redis from "ioredis";

const io = new Redis(process.env.REDIS_URL);
console.log(await io.incr("harness:children"));
io.disconnect();
