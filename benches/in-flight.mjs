// Requests in flight (run by `make bench` through with-mock.sh): 200 streamed calls
// of about a second, with the client configured `requestsPerSecond: 5`, against a
// mock that caps requests in flight at 5 (arrivals unlimited) and one that counts
// 5 arrivals a second, for each reading of the limit. One run at a time, each
// against a mock of its own.
import { inFlightRun } from "../tests/client/in-flight.mjs";

console.log("\n== requests in flight: 200 streamed calls of 0.65-1.3 s, requestsPerSecond: 5");
console.log("| server | requestLimit | 429s | time with 5 in flight | busiest | makespan | cap at the end |\n|---|---|---|---|---|---|---|");
for (const server of ["in-flight", "rate"]) {
  for (const requestLimit of ["auto", "concurrency", "both", "rate"]) {
    const r = await inFlightRun({ server, requestLimit, n: 200 });
    const cap = r.status.inFlightLimit ? `${r.status.inFlightLimit.limit} (${r.status.inFlightLimit.source})` : "none";
    const share = `${(100 * r.refused / r.calls).toFixed(1)}%`;
    console.log(`| ${server === "rate" ? "5 arrivals/s" : "5 in flight"} | ${requestLimit} | ${r.refused} (${share}) | ${(100 * r.atLimit).toFixed(1)}% | ${r.busiest} | ${(r.ms / 1000).toFixed(1)} s | ${cap} |`);
  }
}
